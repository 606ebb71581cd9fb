"""A small httpx client for the portal's API: configuration from the environment, clear errors."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from govctl.errors import GovctlError

__all__ = ["Client", "Config", "GovctlError"]  # GovctlError is re-exported: callers import it from here too

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Config:
    url: str
    token: str

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        url = env.get("GOVERNANCE_URL", "").strip().rstrip("/")
        token = env.get("GOVERNANCE_TOKEN", "").strip()
        if not url:
            raise GovctlError("GOVERNANCE_URL is not set (e.g. https://portal.example.com)", exit_code=2)
        if not url.startswith(("http://", "https://")):
            raise GovctlError(f"GOVERNANCE_URL must start with http:// or https://, got {url!r}", exit_code=2)
        if not token:
            raise GovctlError("GOVERNANCE_TOKEN is not set (create one in the portal's admin)", exit_code=2)
        return cls(url=url, token=token)


def _problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title") or ""
        errors = body.get("errors")
        if errors:
            detail = f"{detail} {errors}".strip()
        problems = body.get("problems")  # [{path, message}]: e.g. an invalid Chaos Toolkit experiment
        if isinstance(problems, list) and problems:
            listed = "; ".join(f"{p.get('path')}: {p.get('message')}" if isinstance(p, dict) else str(p)
                               for p in problems)
            detail = f"{detail} {listed}".strip()
        return str(detail)
    return str(body)[:200]


class Client:
    """Talks to `/api/v1/`; retries transport errors and 5xx with the same idempotency key."""

    def __init__(
        self,
        config: Config,
        *,
        transport: httpx.BaseTransport | None = None,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.config = config
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=config.url,
            headers={"Authorization": f"Bearer {config.token}", "User-Agent": "govctl"},
            timeout=DEFAULT_TIMEOUT,
            transport=transport,
        )

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None) -> httpx.Response:
        headers = {}
        if method.upper() == "POST":
            # One key for every attempt: a retried POST never acts twice on the portal.
            headers["Idempotency-Key"] = str(uuid.uuid4())
        last_error = ""
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, path, json=json, params=params, headers=headers)
            except httpx.TransportError as exc:
                last_error = f"cannot reach the portal at {self.config.url}: {exc.__class__.__name__}: {exc}"
            else:
                if response.status_code < 500:
                    return self._check(response)
                last_error = f"the portal answered {response.status_code}: {_problem_detail(response)}"
            if attempt < self.retries:
                time.sleep(self.backoff * (2**attempt))
        raise GovctlError(last_error, exit_code=3)

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code == 401:
            raise GovctlError(f"the portal refused the token (401): {_problem_detail(response)}", exit_code=4)
        if response.status_code == 403:
            raise GovctlError(f"the token lacks permission (403): {_problem_detail(response)}", exit_code=4)
        if response.status_code >= 400:
            raise GovctlError(f"request failed ({response.status_code}): {_problem_detail(response)}")
        return response

    def json(self, response: httpx.Response) -> Any:
        """The answer's JSON; a page that is not (a proxy's login page, a wrong URL) is one clear error."""
        try:
            return response.json()
        except ValueError:
            raise GovctlError(
                f"{response.request.url} answered {response.status_code} with {response.headers.get('content-type')!r}"
                f", not JSON: is GOVERNANCE_URL ({self.config.url}) the portal?", exit_code=3,
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        return self.json(self.request("GET", path, params=params or None))

    def post(self, path: str, payload: Any) -> Any:
        response = self.request("POST", path, json=payload)
        return self.json(response) if response.content else None

    def close(self) -> None:
        self._http.close()
