"""Pieces shared by the flag delivery endpoints (snapshot, evaluate, OFREP, Unleash client API)."""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from govctl.flags.provider import unleash_context
from rest_framework import exceptions
from rest_framework.request import Request

from flags import delivery, served
from governance.api.permissions import check_token_target
from governance.models import SLUG_RE, ApiToken, Environment, Service

SLUG_PATTERN = re.compile(SLUG_RE)
SERVICE_HEADER = "X-Governance-Service"
ENVIRONMENT_HEADER = "X-Governance-Environment"


class NoFlagData(exceptions.APIException):
    status_code = 503
    default_detail = ("The portal has no flag data for this service and environment right now "
                      "(database unreachable and no last-known-good copy).")
    default_code = "no-flag-data"


def snapshot_for(request: Request, service: str, environment: str) -> delivery.Snapshot:
    """The snapshot a token may read, or 404 (unknown target), 403 (restricted token), 503 (no layer has it)."""
    for kind, slug in (("service", service), ("environment", environment)):
        # What cannot be a slug is unknown without asking the cache or the database: a NUL byte would fail there
        # (a 500, and a tripped cache circuit), and so would a key too long for the database cache.
        if not SLUG_PATTERN.match(slug):
            raise exceptions.NotFound(f"Unknown target: no {kind} '{slug[:100]}'.")
    try:
        snapshot = delivery.get_snapshot(service, environment)
    except delivery.UnknownTarget as exc:
        raise exceptions.NotFound(f"Unknown target: {exc}.") from None
    if snapshot is None:
        raise NoFlagData()
    check_token_target(request, service=_stub(Service, snapshot.service_id, snapshot.service),
                       environment=_stub(Environment, snapshot.environment_id, snapshot.environment))
    return snapshot


@functools.lru_cache(maxsize=4096)
def _stub(model: Any, pk: int | None, slug: str) -> Any:
    """An unsaved instance carrying pk and slug: all check_token_target reads (built once, not per request)."""
    return model(pk=pk, slug=slug)


def _only(items: Any) -> str | None:
    slugs = [item.slug for item in items]
    return slugs[0] if len(slugs) == 1 else None


def target_from(request: Request, context: Mapping[str, Any] | None = None,
                fallback_service: str | None = None) -> tuple[str, str]:
    """(service, environment) from headers, then the context, then a token restricted to exactly one."""
    token = request.auth
    context = context or {}
    service = (request.headers.get(SERVICE_HEADER) or _text(context.get("service"))
               or (_only(token.services.all()) if isinstance(token, ApiToken) else None) or fallback_service)
    environment = (request.headers.get(ENVIRONMENT_HEADER) or _text(context.get("environment"))
                   or (_only(token.environments.all()) if isinstance(token, ApiToken) else None))
    if not service or not environment:
        raise exceptions.ValidationError({"target": (
            f"Say which flags to use: headers {SERVICE_HEADER} and {ENVIRONMENT_HEADER}, 'service' and "
            "'environment' in the context, or a token restricted to one service and one environment.")})
    return service, environment


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def ofrep_to_unleash(context: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenFeature context ({targetingKey, ...attributes}) as an Unleash context (userId, properties)."""
    attributes = {k: v for k, v in context.items() if k != "targetingKey"}
    targeting_key = context.get("targetingKey")
    return unleash_context(types.SimpleNamespace(targeting_key=targeting_key, attributes=attributes))


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match with weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored, * matches."""
    if not header:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def conditional(request: HttpRequest | Request, content: bytes, etag: str, *, content_type: str = "application/json",
                headers: Mapping[str, str] | None = None) -> HttpResponse:
    """200 with the body, or 304 when the client has it already."""
    common = {"ETag": etag, "Cache-Control": f"max-age={settings.FLAGS_SNAPSHOT_MAX_AGE}", **(headers or {})}
    # META, not request.headers: building the headers mapping costs more than the whole 304 answer
    if etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), etag):
        return HttpResponse(status=304, headers=common)
    return HttpResponse(content, content_type=content_type, headers=common)


def source_headers(snapshot: delivery.Snapshot, endpoint: str) -> dict[str, str]:
    """The headers of an answer built from `snapshot`; each call is one answer served (counted for /metrics)."""
    served.count(endpoint, snapshot)
    headers = {"X-Flags-Source": snapshot.source, "X-Flags-Revision": str(snapshot.revision)}
    if snapshot.overridden:
        headers["X-Flags-Break-Glass"] = str(len(snapshot.overridden))  # how many flags an override sets
    return headers
