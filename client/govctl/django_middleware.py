"""Django middleware that makes a governed service honour the portal's operational flags.

    MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
                  "govctl.django_middleware.GovernanceFlagsMiddleware", ...]
    GOVERNANCE_FLAGS = {                       # every key optional
        "FLAG_SOURCE": "myapp.flags.source",   # object or dotted path with get_flag(key) -> (enabled, value)
        "API_PREFIXES": ["/api/"],
        "HEALTH_PATHS": ["/healthz", "/readyz"],
        "EXEMPT_PREFIXES": [],                 # paths under these skip every guard (like health checks)
        "MAINTENANCE_EXEMPT_PREFIXES": [],     # paths that stay up in maintenance mode (e.g. a status page);
                                               # the kill switches still apply to them
        "RETRY_AFTER": 300,                    # seconds, sent with 503s
        "ALWAYS_WRITABLE_TABLES": ["flags_flag", "flags_flagstate"],
        "PROBLEM_TYPE_BASE": "https://governance.invalid/problems/",
        "CHAOS": True,                         # apply the snapshot's chaos faults (HTTP hooks)
        "CHAOS_DB": True,                      # ... and its database faults (execute wrapper)
        "CHAOS_EXEMPT_PREFIXES": [],           # paths no fault touches (HTTP or database): e.g. a halt endpoint
    }

- ``maintenance_mode`` on: 503 for everyone but staff users and health checks; browsers get a
  friendly page, API clients (path under an API prefix, or JSON preferred) problem JSON. A string
  value of the flag replaces the default message.
- ``kill_switch_api`` on: 503 problem JSON on API paths.
- ``kill_switch_database`` on: write statements (INSERT, UPDATE, DELETE, DDL...) raise
  ``DatabaseWritesDisabled`` through ``connection.execute_wrapper`` unless they only touch
  always-writable tables; reads keep working. Views that hit it answer 503.
- ``rate_limit_multiplier`` (number): ``rate_limit_multiplier()`` and ``FlagScaledThrottleMixin``
  scale DRF throttle rates with ``guards.scaled_rate``.

- chaos faults (the snapshot's ``faults`` member, see ``govctl.flags.faults``): http_latency, http_errors and
  throttle (429 + Retry-After) within their scope, here; database faults (db_down, db_latency, db_errors,
  slow_queries) through an execute wrapper installed for the request, or for the whole process with
  ``govctl.django_chaos.install_db_faults()`` (call it in AppConfig.ready to cover jobs and commands too).
  With no active fault the cost is one call per request. The heartbeat reports the hooks loaded
  (``capabilities``: chaos-http, chaos-db).

Django is imported inside the functions that need it, so this module imports without Django.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from typing import Any, Protocol

from govctl.django_chaos import ChaosHooks
from govctl.flags.faults import Fault
from govctl.flags.flag_ops import KILL_API, KILL_DATABASE, MAINTENANCE, RATE_MULTIPLIER  # the built-in keys
from govctl.flags.guards import (
    DatabaseWritesDisabled,
    maintenance_html,
    problem_body,
    scaled_rate,
    wants_json,
    write_allowed,
)

__all__ = [
    "DatabaseWritesDisabled",
    "FlagScaledThrottleMixin",
    "FlagSource",
    "GovernanceFlagsMiddleware",
    "SdkFlagSource",
    "make_write_blocker",
    "rate_limit_multiplier",
    "scaled_rate",
]


DEFAULTS: dict[str, Any] = {
    "FLAG_SOURCE": None,
    "API_PREFIXES": ("/api/",),
    "HEALTH_PATHS": ("/healthz", "/readyz"),
    "EXEMPT_PREFIXES": (),
    "MAINTENANCE_EXEMPT_PREFIXES": (),
    "RETRY_AFTER": 300,
    "ALWAYS_WRITABLE_TABLES": (),
    "PROBLEM_TYPE_BASE": "https://governance.invalid/problems/",
    "CHAOS": True,
    "CHAOS_DB": True,
    "CHAOS_EXEMPT_PREFIXES": (),
}


class FlagSource(Protocol):
    def get_flag(self, key: str) -> tuple[bool, Any]: ...


class SdkFlagSource:
    """Reads flags through the SDK (the process-wide client configured from the environment)."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def get_flag(self, key: str) -> tuple[bool, Any]:
        if self._client is None:
            from govctl.sdk import get_client

            self._client = get_client()
        result = self._client.evaluate(key, None, None)
        return result.enabled, result.value

    def faults(self) -> tuple[Fault, ...]:
        if self._client is None:
            from govctl.sdk import get_client

            self._client = get_client()
        faults: tuple[Fault, ...] = self._client.active_faults()
        return faults

    def report_capability(self, name: str) -> None:
        if self._client is None:
            from govctl.sdk import get_client

            self._client = get_client()
        capabilities = getattr(self._client, "capabilities", None)
        if capabilities is not None:
            capabilities.add(name)


def make_write_blocker(always_writable: tuple[str, ...] | list[str] = ()) -> Callable[..., Any]:
    """An execute wrapper (see Django's ``connection.execute_wrapper``) that refuses writes."""
    tables = tuple(always_writable)

    def blocker(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if not write_allowed(sql, tables):
            raise DatabaseWritesDisabled(
                "the database is read-only: the kill switch 'kill_switch_database' is engaged "
                f"(refused: {sql.strip()[:80]})"
            )
        return execute(sql, params, many, context)

    return blocker


def _settings() -> dict[str, Any]:
    from django.conf import settings

    configured = getattr(settings, "GOVERNANCE_FLAGS", {}) or {}
    return {**DEFAULTS, **configured}


def _source(configured: Any) -> FlagSource:
    if configured is None:
        return SdkFlagSource()
    if isinstance(configured, str):
        from django.utils.module_loading import import_string

        configured = import_string(configured)
    return configured() if isinstance(configured, type) else configured


def rate_limit_multiplier(source: FlagSource | None = None) -> float:
    """The ``rate_limit_multiplier`` flag's number when it is on and sane, else 1."""
    if source is None:
        source = _source(_settings()["FLAG_SOURCE"])
    enabled, value = source.get_flag(RATE_MULTIPLIER)
    if enabled and isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and value >= 0:
            return float(value)
    return 1.0


class FlagScaledThrottleMixin:
    """Mix into a DRF ``SimpleRateThrottle`` subclass to scale its rate by ``rate_limit_multiplier``."""

    def get_rate(self) -> str | None:
        rate = super().get_rate()  # type: ignore[misc]  # provided by the DRF throttle it is mixed into
        return scaled_rate(rate, rate_limit_multiplier())


class GovernanceFlagsMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        config = _settings()
        self.source = _source(config["FLAG_SOURCE"])
        self.api_prefixes = tuple(config["API_PREFIXES"])
        self.health_paths = {p.rstrip("/") for p in config["HEALTH_PATHS"]}
        self.exempt_prefixes = tuple(config["EXEMPT_PREFIXES"])
        self.maintenance_exempt = tuple(config["MAINTENANCE_EXEMPT_PREFIXES"])
        self.retry_after = int(config["RETRY_AFTER"]) if config["RETRY_AFTER"] else None
        self.type_base = str(config["PROBLEM_TYPE_BASE"])
        self.blocker = make_write_blocker(tuple(config["ALWAYS_WRITABLE_TABLES"]))
        self.chaos = ChaosHooks.for_source(self.source, http=bool(config["CHAOS"]), db=bool(config["CHAOS_DB"]),
                                           problem=self._problem)
        self.chaos_exempt = tuple(config["CHAOS_EXEMPT_PREFIXES"])

    def __call__(self, request: Any) -> Any:
        path = request.path
        if path.rstrip("/") in self.health_paths or path.startswith(self.exempt_prefixes):
            return self.get_response(request)
        if self.chaos is not None:
            if path.startswith(self.chaos_exempt):
                return self.chaos.exempt(request, self._guarded)
            faults = self.chaos.faults()
            if faults:
                return self.chaos.apply(request, faults, self._guarded)
        return self._guarded(request)

    def _guarded(self, request: Any) -> Any:
        path = request.path
        enabled, value = self.source.get_flag(MAINTENANCE)
        if enabled and not _is_staff(request) and not path.startswith(self.maintenance_exempt):
            return self._maintenance(request, value)
        if path.startswith(self.api_prefixes) and self.source.get_flag(KILL_API)[0]:
            return self._problem(503, "API disabled", "The API is switched off by an operator.", "api-disabled")
        if self.source.get_flag(KILL_DATABASE)[0]:
            from django.db import connections

            with contextlib.ExitStack() as stack:
                for connection in connections.all():
                    stack.enter_context(connection.execute_wrapper(self.blocker))
                return self.get_response(request)
        return self.get_response(request)

    def process_exception(self, request: Any, exception: Exception) -> Any:
        if isinstance(exception, DatabaseWritesDisabled):
            detail = "The service is read-only for now; changes cannot be saved."
            if wants_json(request.headers.get("Accept"), request.path, self.api_prefixes):
                return self._problem(503, "Read-only mode", detail, "database-read-only")
            return self._html(503, "Read-only mode", detail)
        return None

    def _maintenance(self, request: Any, value: Any) -> Any:
        message = value if isinstance(value, str) and value else "We are doing some maintenance."
        if wants_json(request.headers.get("Accept"), request.path, self.api_prefixes):
            return self._problem(503, "Service under maintenance", message, "maintenance")
        return self._html(503, "Down for maintenance", message)

    def _headers(self, response: Any) -> Any:
        if self.retry_after:
            response["Retry-After"] = str(self.retry_after)
        response["Cache-Control"] = "no-store"
        return response

    def _problem(self, status: int, title: str, detail: str, code: str, retry_after: int | None = None) -> Any:
        from django.http import HttpResponse

        body = problem_body(status, title, detail, code, self.type_base)
        response = HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")
        response = self._headers(response)
        if retry_after is not None:
            response["Retry-After"] = str(retry_after)
        return response

    def _html(self, status: int, title: str, message: str) -> Any:
        from django.http import HttpResponse

        page = maintenance_html(title, message, self.retry_after)
        return self._headers(HttpResponse(page, status=status, content_type="text/html; charset=utf-8"))


def _is_staff(request: Any) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False))
