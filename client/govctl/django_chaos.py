"""The Django side of chaos faults: HTTP faults in the middleware, database faults in an execute wrapper.

    # settings.MIDDLEWARE holds govctl.django_middleware.GovernanceFlagsMiddleware: HTTP faults are applied,
    # and database faults for the statements a request runs.
    # To cover statements outside requests too (jobs, commands), in your AppConfig.ready():
    from govctl.django_chaos import install_db_faults
    install_db_faults()          # every connection of the process, present and future

db_down "refuse" raises ``django.db.OperationalError`` (as a refused connection does), "error" raises
``django.db.DatabaseError`` on every statement; db_latency sleeps before the statement; db_errors raises
``DatabaseError`` on a share of statements (writes only, the first N); slow_queries sets the session's
``statement_timeout`` while the fault is active and RESETs it when the fault is gone.

Django is imported inside the functions that need it, so this module imports without Django.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from govctl.flags.faults import (
    CAPABILITY_DB,
    CAPABILITY_HTTP,
    DB_KINDS,
    NO_FAULTS,
    DbFaultState,
    Fault,
    db_verdict,
    http_verdict,
)

log = logging.getLogger("govctl.chaos")

FaultsFn = Callable[[], "tuple[Fault, ...]"]
_REQUEST: contextvars.ContextVar[tuple[str, Mapping[str, str]] | None] = contextvars.ContextVar(
    "govctl_chaos_request", default=None)
_READING: contextvars.ContextVar[bool] = contextvars.ContextVar("govctl_chaos_reading_faults", default=False)
# a request under CHAOS_EXEMPT_PREFIXES (the halt path…): no fault applies to its statements either
_EXEMPT: contextvars.ContextVar[bool] = contextvars.ContextVar("govctl_chaos_exempt", default=False)
_TIMEOUT_ATTR = "_govctl_chaos_statement_timeout"
# transaction control: no SET/RESET before these (in an aborted transaction it would fail, and they are not slow)
_TX_CONTROL = re.compile(r"\s*(ROLLBACK|RELEASE|SAVEPOINT|COMMIT|BEGIN|START|END|SET|RESET)\b", re.IGNORECASE)
_installed: dict[str, Callable[..., Any]] = {}  # "wrapper" -> the process-wide wrapper, once installed


def make_db_fault_wrapper(faults: FaultsFn, *, state: DbFaultState | None = None,
                          rng: Callable[[], float] = random.random) -> Callable[..., Any]:
    """An execute wrapper (``connection.execute_wrapper``) applying the active database faults."""
    counters = state or DbFaultState()

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if _READING.get() or _EXEMPT.get():
            # faults() itself reads the database (the portal builds its snapshot from PostgreSQL): pass through
            return execute(sql, params, many, context)
        token = _READING.set(True)
        try:
            active = faults()
        finally:
            _READING.reset(token)
        connection = context.get("connection")
        applied = getattr(connection, _TIMEOUT_ATTR, None)
        if applied is not None and _TX_CONTROL.match(sql):
            applied = None  # leave the session setting alone around transaction control
        if not active:
            if applied is not None:
                _set_timeout(context, None)
            return execute(sql, params, many, context)
        request = _REQUEST.get()
        verdict = db_verdict(active, sql, path=None if request is None else request[0],
                             headers=None if request is None else request[1], state=counters, rng=rng)
        if verdict is None:
            if applied is not None:
                _set_timeout(context, None)
            return execute(sql, params, many, context)
        if verdict.delay_s:
            time.sleep(verdict.delay_s)
        if verdict.error is not None:
            from django.db import DatabaseError, OperationalError

            raise (OperationalError if verdict.error == "refused" else DatabaseError)(verdict.message)
        if verdict.statement_timeout_ms is not None and not _TX_CONTROL.match(sql):
            # before every statement while the fault lasts: a rolled-back transaction undoes an earlier SET
            _set_timeout(context, verdict.statement_timeout_ms)
        elif applied is not None and verdict.statement_timeout_ms is None:
            _set_timeout(context, None)
        return execute(sql, params, many, context)

    return wrapper


def _set_timeout(context: Any, ms: int | None) -> None:
    """SET (or RESET) the session's statement_timeout on the raw cursor, past the execute wrappers."""
    raw = context["cursor"].cursor
    if ms is None:
        raw.execute("RESET statement_timeout")
    else:
        raw.execute(f"SET statement_timeout = {int(ms)}")
    setattr(context["connection"], _TIMEOUT_ATTR, ms)


def install_db_faults(faults: FaultsFn | None = None, *, report: Callable[[str], None] | None = None) -> None:
    """Apply database faults to every statement of this process (every connection, present and future), not only
    to those a request runs. Idempotent. Without arguments, faults come from the SDK's process-wide client."""
    if "wrapper" in _installed:
        return
    from django.db import connections
    from django.db.backends.signals import connection_created

    if faults is None:
        from govctl.sdk import get_client

        client = get_client()
        faults, report = client.active_faults, client.capabilities.add
    wrapper = make_db_fault_wrapper(faults)
    _installed["wrapper"] = wrapper

    def _attach(sender: Any, connection: Any, **kwargs: Any) -> None:
        if wrapper not in connection.execute_wrappers:
            connection.execute_wrappers.append(wrapper)

    connection_created.connect(_attach, weak=False, dispatch_uid="govctl-chaos-db-faults")
    for connection in connections.all(initialized_only=True):
        _attach(None, connection)
    if report is not None:
        report(CAPABILITY_DB)


def uninstall_db_faults() -> None:
    """Undo :func:`install_db_faults` (tests, benchmarks)."""
    wrapper = _installed.pop("wrapper", None)
    if wrapper is None:
        return
    from django.db import connections
    from django.db.backends.signals import connection_created

    connection_created.disconnect(dispatch_uid="govctl-chaos-db-faults")
    for connection in connections.all(initialized_only=True):
        if wrapper in connection.execute_wrappers:
            connection.execute_wrappers.remove(wrapper)


class ChaosHooks:
    """What the middleware does with faults; built only when the flag source can deliver them."""

    def __init__(self, faults: FaultsFn, *, db: bool, problem: Callable[..., Any],
                 rng: Callable[[], float] = random.random) -> None:
        self.faults = faults
        self.db = db
        self.problem = problem
        self.rng = rng
        self.db_wrapper = make_db_fault_wrapper(faults, rng=rng) if db else None

    @classmethod
    def for_source(cls, source: Any, *, http: bool, db: bool, problem: Callable[..., Any]) -> ChaosHooks | None:
        faults = getattr(source, "faults", None)
        if not http or faults is None:
            return None
        report = getattr(source, "report_capability", None)
        if report is not None:
            try:
                report(CAPABILITY_HTTP)
                if db:
                    report(CAPABILITY_DB)
            except Exception:  # a source without a configured client: the hooks still work when faults arrive
                log.warning("chaos capabilities not reported", exc_info=True)
        return cls(faults, db=db, problem=problem)

    def apply(self, request: Any, faults: tuple[Fault, ...], handler: Callable[[Any], Any]) -> Any:
        headers = request.headers
        verdict = http_verdict(faults, request.path, headers, self.rng)
        if verdict is not None:
            if verdict.delay_s:
                time.sleep(verdict.delay_s)
            if verdict.status == 429:
                return self.problem(429, "Too many requests", "Throttled by a chaos drill; retry later.",
                                    "chaos-throttled", retry_after=verdict.retry_after)
            if verdict.status is not None:
                return self.problem(verdict.status, "Injected failure", "A chaos drill answered this request.",
                                    "chaos-injected-error")
        if self.db_wrapper is None or "wrapper" in _installed or not any(f.kind in DB_KINDS for f in faults):
            return self._with_request(request, handler)
        from django.db import connections

        with contextlib.ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(self.db_wrapper))
            return self._with_request(request, handler)

    @staticmethod
    def exempt(request: Any, handler: Callable[[Any], Any]) -> Any:
        """Handle a request no fault may touch (not even a process-wide database fault)."""
        token = _EXEMPT.set(True)
        try:
            return handler(request)
        finally:
            _EXEMPT.reset(token)

    @staticmethod
    def _with_request(request: Any, handler: Callable[[Any], Any]) -> Any:
        token = _REQUEST.set((request.path, request.headers))
        try:
            return handler(request)
        finally:
            _REQUEST.reset(token)


__all__ = ["NO_FAULTS", "ChaosHooks", "install_db_faults", "make_db_fault_wrapper", "uninstall_db_faults"]
