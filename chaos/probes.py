"""Probes and actions the portal's worker runs in-process (addressed as python module govctl.chaos_actions).

- `slo_burn_rate(service, environment, slo=None)`: the highest short-window burn rate of the SLOs (a float);
- `slo_success_ratio(service, environment, minutes=5)`: good/total requests over the last minutes (None: no data);
- `page_burn_firing(service, environment)`: whether a page-fast burn-rate pair fires (bool);
- `flag_snapshot(service, environment, flag=None)`: what the flag plane answers now: {"source", "degraded",
  "answers", "value"} (does the service still answer from last-known-good?);
- `active_faults(service, environment)`: how many faults are in force;
- `http_latency_p95(url, requests=50)`: p95 latency (ms) of sequential GETs;
- `client_backoff(url, attempts=30)`: a client that honours 429 + Retry-After: did it get through?
HTTP providers go through httpx (`http_call`), with Chaos Toolkit's output shape {status, headers, body}.
"""

from __future__ import annotations

import importlib
import math
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from django.utils import timezone

_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def _target(service: str, environment: str) -> tuple[Any, Any]:
    from governance.models import Environment, Service

    return Service.objects.get(slug=service), Environment.objects.get(slug=environment)


def _statuses(service: str, environment: str, slo: str | None = None) -> list[Any]:
    from observability import queries
    from observability.models import Slo

    service_row, environment_row = _target(service, environment)
    slos = Slo.objects.filter(service=service_row, environment=environment_row, enabled=True).select_related(
        "service", "environment")
    if slo:
        slos = slos.filter(name=slo)
    return queries.slo_statuses(slos)


def slo_burn_rate(service: str, environment: str, slo: str | None = None) -> float:
    rates = [float(d.short_burn_rate) for s in _statuses(service, environment, slo) for d in s.decisions]
    return max(rates, default=0.0)


def page_burn_firing(service: str, environment: str, slo: str | None = None) -> bool:
    return any(d.firing and str(getattr(d.action, "value", d.action)) == "page"
               for s in _statuses(service, environment, slo) for d in s.decisions)


def slo_success_ratio(service: str, environment: str, minutes: int = 5) -> float | None:
    from django.db.models import Sum

    from observability.models import SliPoint

    service_row, environment_row = _target(service, environment)
    since = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=minutes)
    sums = SliPoint.objects.filter(service=service_row, environment=environment_row, minute__gte=since).aggregate(
        all_total=Sum("total"), all_errors=Sum("errors"))
    total = int(sums["all_total"] or 0)
    return None if total == 0 else (total - int(sums["all_errors"] or 0)) / total


def flag_snapshot(service: str, environment: str, flag: str | None = None) -> dict[str, Any]:
    from flags import delivery

    try:
        snapshot = delivery.get_snapshot(service, environment)
    except delivery.UnknownTarget as exc:
        return {"answers": False, "source": None, "degraded": True, "value": None, "error": str(exc)}
    if snapshot is None:
        return {"answers": False, "source": None, "degraded": True, "value": None}
    value = delivery.resolve(snapshot, flag, None).value if flag else None
    return {"answers": True, "source": snapshot.source, "degraded": snapshot.degraded, "value": value,
            "faults": len(snapshot.body.get("faults") or [])}


def active_faults(service: str, environment: str) -> int:
    from chaos import queries

    service_row, environment_row = _target(service, environment)
    return queries.active_faults(service=service_row, environment=environment_row).count()


PORTAL_FUNCTIONS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (slo_burn_rate, page_burn_firing, slo_success_ratio, flag_snapshot,
                                             active_faults)}


def substitute(value: Any, configuration: dict[str, Any]) -> Any:
    """Chaos Toolkit's ${name} substitution from the experiment's configuration (strings only)."""
    if isinstance(value, str):
        return _SUBSTITUTION.sub(lambda m: str(configuration.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [substitute(v, configuration) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, configuration) for k, v in value.items()}
    return value


def http_call(provider: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
    method = str(provider.get("method", "GET")).upper()
    arguments = provider.get("arguments")
    kwargs: dict[str, Any] = {"headers": provider.get("headers") or {}}
    if arguments is not None:
        if method in ("GET", "HEAD"):
            kwargs["params"] = arguments
        else:
            kwargs["json"] = arguments
    seconds = provider.get("timeout", timeout)
    response = httpx.request(method, provider["url"], timeout=float(seconds if isinstance(seconds, (int, float))
                                                                    else timeout), **kwargs)
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return {"status": response.status_code, "headers": dict(response.headers), "body": body}


def python_call(provider: dict[str, Any]) -> Any:
    from chaos.definitions import PORTAL_MODULE, PYTHON_MODULES

    module, func = provider["module"], provider["func"]
    if module not in PYTHON_MODULES:
        raise ValueError(f"python module {module!r} is not allowed")
    arguments = dict(provider.get("arguments") or {})
    if module == PORTAL_MODULE or module == __name__:
        if func not in PORTAL_FUNCTIONS:
            raise ValueError(f"no portal probe {func!r}; one of {', '.join(PORTAL_FUNCTIONS)}")
        return PORTAL_FUNCTIONS[func](**arguments)
    return getattr(importlib.import_module(module), func)(**arguments)


def http_latency_p95(url: str, requests: int = 50, timeout: float = 10.0) -> float:
    """The 95th percentile latency (ms) of `requests` sequential GETs of `url` (any answer counts)."""
    timings = []
    with httpx.Client(timeout=timeout) as client:
        for _ in range(max(1, min(int(requests), 1000))):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return round(timings[min(len(timings) - 1, math.ceil(0.95 * len(timings)) - 1)], 1)


def client_backoff(url: str, attempts: int = 30, timeout: float = 10.0) -> dict[str, Any]:
    """A well-behaved client: on 429 it waits the Retry-After the answer names, then tries again.

    {"succeeded": got a non-429 answer within `attempts`, "throttled": 429s seen, "all_had_retry_after": every
    429 named a Retry-After, "waited_s": total back-off}.
    """
    throttled, waited, named = 0, 0.0, True
    with httpx.Client(timeout=timeout) as client:
        for _ in range(max(1, min(int(attempts), 200))):
            response = client.get(url)
            if response.status_code != 429:
                return {"succeeded": response.status_code < 500, "throttled": throttled,
                        "all_had_retry_after": named, "waited_s": round(waited, 2), "status": response.status_code}
            throttled += 1
            retry_after = response.headers.get("Retry-After")
            named = named and bool(retry_after and retry_after.isdigit())
            pause = min(float(retry_after) if retry_after and retry_after.isdigit() else 1.0, 5.0)
            waited += pause
            time.sleep(pause)
    return {"succeeded": False, "throttled": throttled, "all_had_retry_after": named, "waited_s": round(waited, 2),
            "status": 429}


PORTAL_FUNCTIONS.update({f.__name__: f for f in (http_latency_p95, client_backoff)})
