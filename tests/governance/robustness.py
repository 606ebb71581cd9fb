"""Shared by the robustness tests: row counts of every table, and the exceptions behind 500 answers."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DatabaseError, connection, transaction


def _tables() -> list[str]:
    # Every model's table; the throttle's counters live in the database cache table, which is no model.
    return sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True)
                   if m._meta.managed and not m._meta.proxy})


class RowCounter:
    """Counts the rows of every model's table in one query (a refused request must not change any)."""

    def __init__(self) -> None:
        self.tables = _tables()
        quoted = [connection.ops.quote_name(t) for t in self.tables]
        self.sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {q})" for q in quoted)
        self.last: dict[str, int] | None = None  # the counts after the previous request (one query per request)

    def counts(self) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql)
            return dict(zip(self.tables, cursor.fetchone(), strict=True))

    @staticmethod
    def diff(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
        return {t: (before[t], after[t]) for t in before if before[t] != after[t]}


def summarize(exc: BaseException | None) -> str:
    """The exception and the innermost frames in the project's own code (where a fix would go)."""
    if exc is None:
        return ""
    root = str(settings.BASE_DIR)
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith(root) and "/.venv/" not in f.filename and "/tests/" not in f.filename]
    where = "".join(f"\n  at {f.filename.removeprefix(root + '/')}:{f.lineno} {f.name}: {f.line}" for f in frames[-3:])
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {str(exc)[:300]}{where}"


@dataclass
class Failure:
    case: str
    problem: str
    exception: str = ""

    def __str__(self) -> str:
        text = f"{self.case}\n    {self.problem[:500]}"
        if self.exception:
            text += "\n    " + self.exception.strip().replace("\n", "\n    ")
        return text


@dataclass
class Recorder:
    """Collects failures instead of stopping at the first, so one run lists every 500 of an endpoint."""

    failures: list[Failure] = field(default_factory=list)
    requests: int = 0
    _exceptions: list[str] = field(default_factory=list)

    def on_exception(self, sender: Any, request: Any = None, **kwargs: Any) -> None:
        self._exceptions.append(summarize(sys.exc_info()[1]))

    def take_exception(self) -> str:
        text = "\n".join(self._exceptions)
        self._exceptions.clear()
        return text

    def report(self) -> str:
        return f"{len(self.failures)} of {self.requests} requests broke the standard:\n" + "\n".join(
            str(f) for f in self.failures)

    def assert_clean(self) -> None:
        if self.failures:
            pytest.fail(self.report(), pytrace=False)


@contextmanager
def recording() -> Iterator[Recorder]:
    recorder = Recorder()
    got_request_exception.connect(recorder.on_exception, weak=False)
    try:
        yield recorder
    finally:
        got_request_exception.disconnect(recorder.on_exception)


def isolated(recorder: Recorder, counter: RowCounter, label: str, send: Callable[[], Any],
             check: Callable[[Any], str] | None = None) -> Any:
    """Send one request inside a savepoint, rolled back afterwards; record a 500, an exception, a broken
    transaction, or rows written by a refused (>= 400) request. `check(response)` returns a problem or ""."""
    recorder.requests += 1
    before = counter.last or counter.counts()
    counter.last = None
    savepoint = transaction.savepoint()
    try:
        response = send()
        if getattr(response, "streaming", False):
            # A streamed body runs its generator now (the audit export writes its record at the end of it).
            response.streamed = b"".join(response.streaming_content)
    except Exception as exc:  # an error while streaming reaches the client as a cut-off body
        transaction.savepoint_rollback(savepoint)
        recorder.failures.append(Failure(label, "raised", summarize(exc)))
        counter.last = before
        return None
    exception = recorder.take_exception()
    try:
        after = counter.counts()
    except DatabaseError as exc:
        transaction.savepoint_rollback(savepoint)
        recorder.failures.append(Failure(label, f"left the transaction broken ({exc})", exception))
        return response
    problems = []
    if response.status_code >= 500:
        problems.append(f"answered {response.status_code}")
    elif exception:
        problems.append(f"answered {response.status_code} but raised")
    if response.status_code >= 400:
        written = counter.diff(before, after)
        if written:
            problems.append(f"refused with {response.status_code} but changed row counts {written}")
    if check is not None and response.status_code < 500:
        extra = check(response)
        if extra:
            problems.append(extra)
    if problems:
        recorder.failures.append(Failure(label, "; ".join(problems), exception))
    # Every request starts from the same rows: what one accepted does not turn the next into a conflict.
    transaction.savepoint_rollback(savepoint)
    counter.last = before
    return response
