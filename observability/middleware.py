"""The portal measures its own requests as SLI points of the "portal" service.

Each process aggregates per minute in memory (requests, 5xx, a latency histogram, database queries
and failed queries) and flushes at most every SLO_SELF_FLUSH_SECONDS and whenever the minute changes.

Several gunicorn workers: every process writes under its OWN source key
(`portal:<host>:<pid>:<random>`) and each flush REPLACES that process's row of the minute with its
running totals, through the same upsert as the API. Rows of different processes add up when the
checker sums a minute. Chosen over an additive upsert on one shared key because a replace is
idempotent: a flush that is retried after an error (or repeated) cannot count a request twice,
and there is one write rule for every source. The cost is one row per process per minute.

Requests to /healthz, /readyz and static files are not measured. Latency is measured around the
rest of the middleware chain and the view; a flush runs after the response is built, outside it.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from observability import sli

log = logging.getLogger(__name__)

# Bounds include the default latency thresholds (300 and 400 ms), so those SLIs are exact.
BUCKET_BOUNDS_MS: tuple[float, ...] = (5, 10, 25, 50, 100, 200, 300, 400, 500, 750, 1000, 2500, 5000, 10000)
KEEP_MINUTES = 120  # unflushed minutes kept while the database is unreachable
EXCLUDED_PATHS = ("/healthz", "/readyz")


@dataclass
class MinuteCounts:
    total: int = 0
    errors: int = 0
    per_bucket: list[int] = field(default_factory=lambda: [0] * len(BUCKET_BOUNDS_MS))
    db_queries: int = 0
    db_errors: int = 0

    def point(self, minute: datetime) -> sli.Point:
        cumulative, running = [], 0
        for count in self.per_bucket:
            running += count
            cumulative.append(running)
        return sli.Point(minute=minute, total=self.total, errors=self.errors, latency_bounds=BUCKET_BOUNDS_MS,
                         latency_counts=tuple(cumulative), db_queries=self.db_queries, db_errors=self.db_errors)


def process_source() -> str:
    return f"{sli.RESERVED_SOURCE_PREFIX}{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Recorder:
    """Per-process, thread-safe per-minute aggregates and their flush (replace) into SLI points."""

    def __init__(self, *, flush_seconds: float, writer: Callable[[str, list[sli.Point]], None],
                 now: Callable[[], datetime] = timezone.now, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.pid = os.getpid()
        self.source = process_source()
        self.flush_seconds = flush_seconds
        self._writer = writer
        self._now = now
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._minutes: dict[datetime, MinuteCounts] = {}
        self._dirty: set[datetime] = set()
        self._current: datetime | None = None
        self._last_flush = -math.inf  # the first request flushes at once: the portal's SLOs exist from the start
        # A graceful stop (gunicorn's worker exit, a recycle) flushes what is left; a crash loses at most the
        # last SLO_SELF_FLUSH_SECONDS.
        atexit.register(self.flush)

    def record(self, *, status: int, elapsed_ms: float, db_queries: int, db_errors: int) -> bool:
        """Count one request in the minute it finished; True when a flush is due."""
        with self._lock:
            # The minute is taken under the lock at completion, so minutes only move forward per process.
            minute = self._now().replace(second=0, microsecond=0)
            counts = self._minutes.setdefault(minute, MinuteCounts())
            counts.total += 1
            counts.errors += status >= 500
            for index, bound in enumerate(BUCKET_BOUNDS_MS):
                if elapsed_ms <= bound:
                    counts.per_bucket[index] += 1
                    break
            counts.db_queries += db_queries
            counts.db_errors += min(db_errors, db_queries)
            self._dirty.add(minute)
            minute_changed = self._current is not None and minute != self._current
            self._current = minute
            return minute_changed or self._monotonic() - self._last_flush >= self.flush_seconds

    def flush(self) -> bool:
        """Write every changed minute (running totals, replacing this process's rows); one flush at a time."""
        if not self._flushing.acquire(blocking=False):
            return False
        try:
            with self._lock:
                dirty = sorted(self._dirty)
                points = [self._minutes[m].point(m) for m in dirty]
                self._dirty.clear()
                self._last_flush = self._monotonic()
            if not points:
                return True
            try:
                self._writer(self.source, points)
            except Exception:  # the portal must keep serving when it cannot store its own telemetry
                log.warning("self-measurement: flush of %d minute(s) failed; kept for the next flush", len(points),
                            exc_info=True)
                with self._lock:
                    self._dirty.update(dirty)
                    self._trim()
                return False
            with self._lock:
                # Finished minutes that were flushed and not touched since are final: drop them.
                for minute in dirty:
                    if minute != self._current and minute not in self._dirty:
                        self._minutes.pop(minute, None)
                self._trim()
            return True
        finally:
            self._flushing.release()

    def _trim(self) -> None:
        if self._current is None:
            return
        oldest = self._current - timedelta(minutes=KEEP_MINUTES)
        for minute in [m for m in self._minutes if m < oldest]:
            self._minutes.pop(minute, None)
            self._dirty.discard(minute)


_portal_ids: tuple[int, int] | None = None


def write_portal_points(source: str, points: list[sli.Point]) -> None:
    """The recorder's writer: the portal service (created with its SLOs when missing) and the shared upsert."""
    global _portal_ids
    from observability import services

    if _portal_ids is None:
        _portal_ids = services.ensure_portal_service()
    service_id, environment_id = _portal_ids
    sli.upsert_points(service_id=service_id, environment_id=environment_id, source=source, points=points)


def forget_portal_service() -> None:
    """For tests: look the portal service up again on the next flush."""
    global _portal_ids
    _portal_ids = None


class _QueryCounter:
    def __init__(self) -> None:
        self.queries = 0
        self.errors = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.queries += 1
        try:
            return execute(sql, params, many, context)
        except DatabaseError:
            self.errors += 1
            raise


class SelfMeasurementMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.SLO_SELF_MEASURE:
            raise MiddlewareNotUsed("SLO_SELF_MEASURE is off")
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/") if settings.STATIC_URL else None
        self.recorder = Recorder(flush_seconds=settings.SLO_SELF_FLUSH_SECONDS, writer=write_portal_points)

    def _excluded(self, path: str) -> bool:
        return path in EXCLUDED_PATHS or bool(self.static_prefix and path.startswith(self.static_prefix))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._excluded(request.path):
            return self.get_response(request)
        if self.recorder.pid != os.getpid():  # forked after the app was loaded (gunicorn --preload)
            self.recorder = Recorder(flush_seconds=settings.SLO_SELF_FLUSH_SECONDS, writer=write_portal_points)
        counter = _QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        due = self.recorder.record(status=response.status_code, elapsed_ms=elapsed_ms, db_queries=counter.queries,
                                   db_errors=counter.errors)
        if due:
            self.recorder.flush()
        return response
