"""The built-in experiments: the fallbacks this portal promises, as Chaos Toolkit experiments.

`definition(key, service=…, environment=…)` builds one; `install` stores them for a service (the portal
itself by default: `manage.py chaos_builtins`). Each names what it proves in its title:

- postgres-down: "PostgreSQL down: flags keep answering from last-known-good and the maintenance page shows"
- db-latency-300ms: "database latency 300 ms: p95 within the latency SLO"
- api-errors-5pct: "5% API errors for 5 minutes: the burn-rate page fires and the drill aborts itself"
- throttle-10pct: "throttled to 10%: clients back off"

`${portal_url}` is the portal's URL (PORTAL_URL, or $GOVERNANCE_URL under `chaos run`).
"""

from __future__ import annotations

from typing import Any

from chaos import ctk

TITLES = {
    "postgres-down": "PostgreSQL down: flags keep answering from last-known-good and the maintenance page shows",
    "db-latency-300ms": "database latency 300 ms: p95 within the latency SLO",
    "api-errors-5pct": "5% API errors for 5 minutes: the burn-rate page fires and the drill aborts itself",
    "throttle-10pct": "throttled to 10%: clients back off",
}
PORTAL = "govctl.chaos_actions"


def _python(name: str, func: str, tolerance: Any = None, **arguments: Any) -> dict[str, Any]:
    activity: dict[str, Any] = {"type": "probe", "name": name,
                                "provider": {"type": "python", "module": PORTAL, "func": func, "arguments": arguments}}
    if tolerance is not None:
        activity["tolerance"] = tolerance
    return activity


def _flags_answer() -> dict[str, Any]:
    return _python("flags keep answering", "flag_snapshot",
                   {"type": "jsonpath", "path": "$.answers", "expect": True},
                   service="${service}", environment="${environment}", flag="maintenance_mode")


def _fault(name: str, kind: str, params: dict[str, Any], *, share: float = 1.0, paths: list[str] | None = None,
           ttl: int = 600, pause: float = 0) -> dict[str, Any]:
    return ctk.fault_action(name=name, service="${service}", environment="${environment}", kind=kind, params=params,
                            scope={"share": share, "paths": paths or [], "header": None}, ttl_seconds=ttl,
                            reason=f"built-in drill: {name}", pause_after=pause or None)


def definition(key: str, *, service: str, environment: str = "preview", duration_seconds: float | None = None,
               latency_threshold_ms: int = 400) -> dict[str, Any]:
    """The built-in `key` for a service; `duration_seconds` overrides the method's pause (tests run shorter)."""
    configuration = {"service": service, "environment": environment,
                     "portal_url": {"type": "env", "key": ctk.PORTAL_URL_ENV}}
    rollbacks = [ctk.halt_rollback(reason=f"built-in drill {key}: rollback")]
    if key == "postgres-down":
        hypothesis = [_flags_answer()]
        method = [_fault("database refuses connections", "db_down", {"mode": "refuse"}),
                  # the fault reaches the service through its snapshot: streaming SDKs within a second
                  {"type": "probe", "name": "maintenance page shows", "pauses": {"before": 3}, "provider": {
                      "type": "http", "url": "${portal_url}/status/", "method": "GET", "timeout": 10}},
                  _python("flags answer during the outage", "flag_snapshot", service="${service}",
                          environment="${environment}", flag="maintenance_mode")]
        method[-1]["pauses"] = {"after": duration_seconds or 30}
    elif key == "db-latency-300ms":
        # 300 ms on a small share of statements of the status page: its p95 must stay within the latency SLO.
        hypothesis = [_python("p95 within the latency SLO", "http_latency_p95",
                              {"type": "range", "range": [0, latency_threshold_ms]}, url="${portal_url}/status/",
                              requests=40)]
        method = [_fault("database latency 300 ms", "db_latency", {"ms": 300, "jitter_ms": 0}, share=0.002,
                         paths=["/status/"], pause=duration_seconds or 30)]
    elif key == "api-errors-5pct":
        hypothesis = [_flags_answer()]
        method = [_fault("5% of API requests fail", "http_errors", {"status": 503}, share=0.05, paths=["/api/"],
                         pause=duration_seconds or 300)]
    elif key == "throttle-10pct":
        hypothesis = [_python("clients back off and get through", "client_backoff",
                              {"type": "jsonpath", "path": "$.succeeded", "expect": True},
                              url="${portal_url}/api/v2/status.json")]
        method = [_fault("throttled to 10%", "throttle", {"rate_factor": 0.1, "retry_after": 1}, paths=["/api/v2/"],
                         pause=duration_seconds or 30)]
    else:
        raise KeyError(key)
    return {"title": TITLES[key], "description": f"Built-in portal drill '{key}' (docs/CHAOS.md § Built-in "
                                                 "experiments).", "tags": ["builtin", "portal"],
            "configuration": configuration, "steady-state-hypothesis": {"title": TITLES[key], "probes": hypothesis},
            "method": method, "rollbacks": rollbacks}


def install(*, service: Any, actor: Any, reason: str, environment: str = "preview",
            duration_seconds: float | None = None) -> list[Any]:
    from chaos import services

    return [services.save_experiment(service=service, key=key, builtin=True, actor=actor, reason=reason,
                                     definition=definition(key, service=service.slug, environment=environment,
                                                           duration_seconds=duration_seconds))
            for key in TITLES]
