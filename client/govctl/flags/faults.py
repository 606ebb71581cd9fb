"""Chaos faults delivered in the flag snapshot, and how a governed service applies them.

The snapshot body's ``faults`` member (part of the signed body) lists the active faults of the service's
environment::

    {"id": "17", "kind": "http_errors", "params": {"status": 503},
     "scope": {"share": 0.05, "paths": ["/api/"], "header": {"name": "X-Chaos", "value": "on"} | null},
     "expires_at": "2026-12-05T23:40:00Z", "run": 12 | null}

Kinds: db_down {mode: refuse|error}, db_latency {ms, jitter_ms}, db_errors {share, writes_only, first_n},
slow_queries {statement_timeout_ms}, http_errors {status}, http_latency {ms, jitter_ms}, throttle {rate_factor}.

Expiry is evaluated HERE, against this host's clock: a fault past its ``expires_at`` is dropped even when the
portal is unreachable and the last-known-good file still lists it. A malformed entry is ignored (never applied).

The Django side (``govctl.django_middleware``) applies HTTP faults in the middleware and database faults through
``connection.execute_wrapper`` (:func:`make_db_fault_wrapper`, :func:`install_db_faults`). No Django import at
module level: this module is also the pure, fast part (parsing, scoping, expiry).
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from govctl.flags.guards import is_write_statement

HTTP_KINDS = frozenset({"http_errors", "http_latency", "throttle"})
DB_KINDS = frozenset({"db_down", "db_latency", "db_errors", "slow_queries"})
KINDS = HTTP_KINDS | DB_KINDS
CAPABILITY_HTTP, CAPABILITY_DB = "chaos-http", "chaos-db"
NO_FAULTS: tuple[Fault, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Fault:
    id: str
    kind: str
    params: Mapping[str, Any]
    share: float
    paths: tuple[str, ...]
    header: tuple[str, str] | None  # (lower-case name, value)
    expires_at: float  # epoch seconds
    run: int | None

    def in_scope(self, path: str | None = None, headers: Mapping[str, str] | None = None,
                 rng: Callable[[], float] = random.random) -> bool:
        """Whether this request (or, without a path, this statement) falls in the blast radius. Path and header
        scopes need a request: outside one (a job, a command) a fault scoped to paths or a header is not applied."""
        if self.paths and (path is None or not path.startswith(self.paths)):
            return False
        if self.header is not None:
            if headers is None or headers.get(self.header[0]) != self.header[1]:
                return False
        return self.share >= 1.0 or rng() < self.share

    def number(self, key: str, default: float = 0.0) -> float:
        value = self.params.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return default
        return float(value)


def _parse_time(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # a naive time is ambiguous: never apply a fault whose end we cannot tell
    return moment.timestamp()


def parse_fault(raw: Any) -> Fault | None:
    """A Fault from one snapshot entry, or None when it is malformed (malformed faults are never applied)."""
    if not isinstance(raw, Mapping) or raw.get("kind") not in KINDS:
        return None
    expires_at = _parse_time(raw.get("expires_at"))
    params = raw.get("params") or {}
    scope = raw.get("scope") or {}
    if expires_at is None or not isinstance(params, Mapping) or not isinstance(scope, Mapping):
        return None
    share = scope.get("share", 1.0)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        return None
    paths = scope.get("paths") or []
    header = scope.get("header")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        return None
    parsed_header = None
    if header is not None:
        if not isinstance(header, Mapping) or not isinstance(header.get("name"), str) \
                or not isinstance(header.get("value"), str):
            return None
        parsed_header = (header["name"].lower(), header["value"])
    run = raw.get("run")
    return Fault(id=str(raw.get("id")), kind=raw["kind"], params=dict(params), share=float(share),
                 paths=tuple(paths), header=parsed_header, expires_at=expires_at,
                 run=run if isinstance(run, int) and not isinstance(run, bool) else None)


def parse_faults(snapshot: Mapping[str, Any]) -> tuple[Fault, ...]:
    raw = snapshot.get("faults")
    if not raw or not isinstance(raw, list):
        return NO_FAULTS
    return tuple(f for f in (parse_fault(r) for r in raw) if f is not None)


def unexpired(faults: tuple[Fault, ...], now: float | None = None) -> tuple[Fault, ...]:
    if not faults:
        return NO_FAULTS
    moment = time.time() if now is None else now
    return tuple(f for f in faults if f.expires_at > moment)


class FaultCache:
    """Parses a snapshot's faults once per snapshot body (identity), then only filters by expiry."""

    __slots__ = ("_raw", "_faults")

    def __init__(self) -> None:
        self._raw: Any = None
        self._faults: tuple[Fault, ...] = NO_FAULTS

    def active(self, snapshot: Mapping[str, Any] | None, now: float | None = None) -> tuple[Fault, ...]:
        if snapshot is not self._raw:
            if snapshot is None:
                return NO_FAULTS
            self._faults, self._raw = parse_faults(snapshot), snapshot
        faults = self._faults
        return unexpired(faults, now) if faults else NO_FAULTS


# -- HTTP -----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class HttpVerdict:
    """What the HTTP faults do to one request: a delay first, then possibly a canned answer."""

    delay_s: float = 0.0
    status: int | None = None  # 5xx (http_errors) or 429 (throttle)
    retry_after: int | None = None
    fault: Fault | None = None


def http_verdict(faults: Iterable[Fault], path: str, headers: Mapping[str, str],
                 rng: Callable[[], float] = random.random) -> HttpVerdict | None:
    delay, answer = 0.0, None
    for fault in faults:
        if fault.kind not in HTTP_KINDS or not fault.in_scope(path, headers, rng):
            continue
        if fault.kind == "http_latency":
            delay += _delay(fault, rng)
        elif answer is None and fault.kind == "http_errors":
            status = int(fault.number("status", 503))
            answer = HttpVerdict(status=status if 400 <= status <= 599 else 503, fault=fault)
        elif answer is None and fault.kind == "throttle":
            if rng() >= min(1.0, max(0.0, fault.number("rate_factor", 1.0))):
                answer = HttpVerdict(status=429, retry_after=max(1, int(fault.number("retry_after", 1))),
                                     fault=fault)
    if answer is None:
        return HttpVerdict(delay_s=delay) if delay else None
    return dataclasses.replace(answer, delay_s=delay)


def _delay(fault: Fault, rng: Callable[[], float]) -> float:
    ms, jitter = max(0.0, fault.number("ms")), max(0.0, fault.number("jitter_ms"))
    return max(0.0, ms + (rng() * 2 - 1) * jitter) / 1000.0


# -- database ------------------------------------------------------------------------------------------------


class DbFaultState:
    """Per-process counters of db_errors' ``first_n`` (the first N in-scope statements of each fault)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def take(self, fault_id: str, limit: int) -> bool:
        with self._lock:
            seen = self._counts.get(fault_id, 0)
            if seen >= limit:
                return False
            self._counts[fault_id] = seen + 1
            return True


@dataclasses.dataclass(frozen=True, slots=True)
class DbVerdict:
    delay_s: float = 0.0
    error: str | None = None  # "refused" (OperationalError) or "error" (DatabaseError)
    message: str = ""
    statement_timeout_ms: int | None = None


def db_verdict(faults: Iterable[Fault], sql: str, *, path: str | None, headers: Mapping[str, str] | None,
               state: DbFaultState, rng: Callable[[], float] = random.random) -> DbVerdict | None:
    delay, timeout = 0.0, None
    for fault in faults:
        if fault.kind not in DB_KINDS or not fault.in_scope(path, headers, rng):
            continue
        if fault.kind == "db_down":
            refused = fault.params.get("mode", "refuse") != "error"
            return DbVerdict(delay_s=delay, error="refused" if refused else "error",
                             message=(f"connection refused (chaos fault {fault.id}: database down)" if refused
                                      else f"chaos fault {fault.id}: the database fails every statement"))
        if fault.kind == "db_latency":
            delay += _delay(fault, rng)
        elif fault.kind == "db_errors":
            if fault.params.get("writes_only") and not is_write_statement(sql):
                continue
            share = min(1.0, max(0.0, fault.number("share", 1.0)))
            if share < 1.0 and rng() >= share:
                continue
            first_n = fault.params.get("first_n")
            if isinstance(first_n, int) and not isinstance(first_n, bool) and not state.take(fault.id, first_n):
                continue
            return DbVerdict(delay_s=delay, error="error", message=f"chaos fault {fault.id}: injected database error")
        elif fault.kind == "slow_queries":
            timeout = max(1, int(fault.number("statement_timeout_ms", 100)))
    if not delay and timeout is None:
        return None
    return DbVerdict(delay_s=delay, statement_timeout_ms=timeout)
