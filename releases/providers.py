"""Deploy-provider adapters: record-only, a signed webhook, Vercel. httpx only; no database access here.

Settings come from `Service.deploy_settings` (never secrets); secrets come from environment variables the
settings name (`token_env`, `secret_env`), read when the adapter runs.

Webhook contract (docs/RELEASES.md):
    POST <url>, Content-Type: application/json, body = {event, delivery_id, sent_at, service, environment,
        deployment_id, release: {id, version, tag, build_sha, provider_ref}, previous, requested_by, reason}
    X-Governance-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>
    X-Governance-Timestamp: <unix seconds> (= sent_at), X-Governance-Delivery: <delivery_id> (same on retries),
    X-Governance-Event: release.promote | release.rollback
A 2xx answer is success (a JSON body may carry `provider_ref` and `url`); 429, 5xx and transport errors are
retried with exponential backoff; other answers fail at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import httpx

SIGNATURE_HEADER = "X-Governance-Signature"
TIMESTAMP_HEADER = "X-Governance-Timestamp"
DELIVERY_HEADER = "X-Governance-Delivery"
EVENT_HEADER = "X-Governance-Event"
USER_AGENT = "governance-portal-deploy/1"
VERCEL_API = "https://api.vercel.com"


class ProviderConfigError(ValueError):
    """Provider settings that cannot work; the message names the setting."""


@dataclass(frozen=True)
class DeployRequest:
    action: str  # "promote" or "rollback"
    deployment_id: int
    service: str
    environment: str
    release: dict[str, Any]
    previous: dict[str, Any] | None
    requested_by: str
    reason: str
    provider_ref: str = ""  # the provider's id of the build to put live (Vercel deployment id)


@dataclass(frozen=True)
class ProviderResult:
    ok: bool
    provider_ref: str = ""
    url: str = ""
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    name: str

    def run(self, request: DeployRequest) -> ProviderResult: ...


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """For receivers: constant-time check of the signature header against the raw body."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def _setting(settings: Mapping[str, Any], key: str, *, required: bool = True, default: Any = None) -> Any:
    value = settings.get(key, default)
    if required and (value is None or value == ""):
        raise ProviderConfigError(f"deploy_settings.{key} is required")
    return value


def _secret(environ: Mapping[str, str], env_name: Any, setting: str) -> str:
    if not isinstance(env_name, str) or not env_name:
        raise ProviderConfigError(f"deploy_settings.{setting} must name an environment variable")
    value = environ.get(env_name, "")
    if not value:
        raise ProviderConfigError(f"the environment variable {env_name} (deploy_settings.{setting}) is not set")
    return value


def _number(settings: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ProviderConfigError(f"deploy_settings.{key} must be a number from {low} to {high}, got {value!r}")
    return float(value)


class RecordOnly:
    name = "record"

    def run(self, request: DeployRequest) -> ProviderResult:
        return ProviderResult(ok=True, provider_ref=request.provider_ref,
                              details={"note": "record-only provider: the portal records the change, nothing is called"})


def _retrying(send: Callable[[], httpx.Response], *, retries: int, backoff: float,
              sleep: Callable[[float], None]) -> tuple[httpx.Response | None, list[dict[str, Any]]]:
    """Send until a final answer: 429, 5xx and transport errors are retried with exponential backoff."""
    attempts: list[dict[str, Any]] = []
    for attempt in range(retries + 1):
        try:
            response = send()
        except httpx.TransportError as exc:
            attempts.append({"attempt": attempt + 1, "error": f"{exc.__class__.__name__}: {exc}"})
        else:
            attempts.append({"attempt": attempt + 1, "status": response.status_code})
            if response.status_code != 429 and response.status_code < 500:
                return response, attempts
            if attempt == retries:
                return response, attempts
        if attempt < retries:
            sleep(backoff * (2**attempt))
    return None, attempts


def _body_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("code") or err)[:300]
        return str(err or body.get("detail") or body)[:300]
    return str(body)[:300]


class Webhook:
    name = "webhook"

    def __init__(self, settings: Mapping[str, Any], *, environ: Mapping[str, str], transport: httpx.BaseTransport | None,
                 sleep: Callable[[float], None]) -> None:
        self.url = _setting(settings, "url")
        if not isinstance(self.url, str) or not self.url.startswith(("http://", "https://")):
            raise ProviderConfigError(f"deploy_settings.url must be an http(s) URL, got {self.url!r}")
        self.secret = _secret(environ, settings.get("secret_env"), "secret_env")
        self.timeout = _number(settings, "timeout", 10, 0.1, 120)
        self.retries = int(_number(settings, "retries", 3, 0, 10))
        self.backoff = _number(settings, "backoff", 1.0, 0, 60)
        self.transport, self.sleep = transport, sleep

    def run(self, request: DeployRequest) -> ProviderResult:
        sent_at = int(time.time())
        delivery = str(uuid.uuid4())
        payload = {
            "event": f"release.{request.action}", "delivery_id": delivery, "sent_at": sent_at,
            "service": request.service, "environment": request.environment, "deployment_id": request.deployment_id,
            "release": {**request.release, "provider_ref": request.provider_ref}, "previous": request.previous,
            "requested_by": request.requested_by, "reason": request.reason,
        }
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, SIGNATURE_HEADER: sign(self.secret, body),
                   TIMESTAMP_HEADER: str(sent_at), DELIVERY_HEADER: delivery, EVENT_HEADER: f"release.{request.action}"}
        with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
            response, attempts = _retrying(lambda: client.post(self.url, content=body, headers=headers),
                                           retries=self.retries, backoff=self.backoff, sleep=self.sleep)
        details = {"url": self.url, "delivery_id": delivery, "attempts": attempts}
        if response is None:
            return ProviderResult(ok=False, error=f"webhook unreachable after {len(attempts)} attempt(s): "
                                                  f"{attempts[-1].get('error')}", details=details)
        if not response.is_success:
            return ProviderResult(ok=False, error=f"webhook answered {response.status_code} after {len(attempts)} "
                                                  f"attempt(s): {_body_error(response)}", details=details)
        answer: Any = {}
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        return ProviderResult(ok=True, provider_ref=str(answer.get("provider_ref") or request.provider_ref),
                              url=str(answer.get("url") or ""), details=details)


class Vercel:
    """Promote: POST /v10/projects/{projectId}/promote/{deploymentId}; rollback: POST /v1/projects/{projectId}/rollback/{deploymentId}."""

    name = "vercel"

    def __init__(self, settings: Mapping[str, Any], *, environ: Mapping[str, str], transport: httpx.BaseTransport | None,
                 sleep: Callable[[float], None]) -> None:
        self.project_id = _setting(settings, "project_id")
        self.team_id = settings.get("team_id") or ""
        self.team_slug = settings.get("team_slug") or ""
        self.api_url = str(settings.get("api_url") or VERCEL_API).rstrip("/")
        if not self.api_url.startswith("https://"):
            raise ProviderConfigError("deploy_settings.api_url must be an https:// URL")
        self.token = _secret(environ, settings.get("token_env", "VERCEL_TOKEN"), "token_env")
        self.timeout = _number(settings, "timeout", 30, 0.1, 120)
        self.retries = int(_number(settings, "retries", 2, 0, 10))
        self.backoff = _number(settings, "backoff", 1.0, 0, 60)
        self.transport, self.sleep = transport, sleep

    def run(self, request: DeployRequest) -> ProviderResult:
        if not request.provider_ref:
            return ProviderResult(ok=False, error=(
                f"no Vercel deployment id for {request.service} {request.release.get('version')}: record its preview "
                "deployment with `govctl deploy record --provider-ref <deployment id>` or register it in "
                "artifacts.vercel_deployment_id"))
        project, ref = quote(str(self.project_id), safe=""), quote(request.provider_ref, safe="")
        if request.action == "promote":
            path = f"/v10/projects/{project}/promote/{ref}"
        else:
            path = f"/v1/projects/{project}/rollback/{ref}"
        params = {k: v for k, v in (("teamId", self.team_id), ("slug", self.team_slug)) if v}
        if request.action == "rollback":
            params["description"] = request.reason[:200]
        headers = {"Authorization": f"Bearer {self.token}", "User-Agent": USER_AGENT}
        with httpx.Client(base_url=self.api_url, timeout=self.timeout, transport=self.transport) as client:
            response, attempts = _retrying(lambda: client.post(path, params=params, headers=headers),
                                           retries=self.retries, backoff=self.backoff, sleep=self.sleep)
        details: dict[str, Any] = {"endpoint": f"POST {path}", "attempts": attempts}
        if response is None:
            return ProviderResult(ok=False, error=f"Vercel unreachable after {len(attempts)} attempt(s): "
                                                  f"{attempts[-1].get('error')}", details=details)
        if not response.is_success:
            return ProviderResult(ok=False, error=f"Vercel answered {response.status_code}: {_body_error(response)}",
                                  details=details)
        # 201/202: Vercel accepted the request and points production at the deployment (asynchronously).
        details["status"] = response.status_code
        return ProviderResult(ok=True, provider_ref=request.provider_ref, details=details)


def get_provider(kind: str, settings: Mapping[str, Any] | None, *, environ: Mapping[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> Provider:
    """Build the adapter for a service's provider; ProviderConfigError names the setting that is wrong."""
    settings = settings or {}
    if not isinstance(settings, Mapping):
        raise ProviderConfigError("deploy_settings must be a JSON object")
    environ = os.environ if environ is None else environ
    if kind == "record":
        return RecordOnly()
    if kind == "webhook":
        return Webhook(settings, environ=environ, transport=transport, sleep=sleep)
    if kind == "vercel":
        return Vercel(settings, environ=environ, transport=transport, sleep=sleep)
    raise ProviderConfigError(f"unknown deploy provider {kind!r}; use record, webhook or vercel")


# Tests replace this with an httpx.MockTransport for SaaS that cannot be reached from here.
TRANSPORT: httpx.BaseTransport | None = None
SLEEP: Callable[[float], None] = time.sleep


def for_service(service: Any) -> Provider:
    return get_provider(service.deploy_provider, service.deploy_settings, transport=TRANSPORT, sleep=SLEEP)
