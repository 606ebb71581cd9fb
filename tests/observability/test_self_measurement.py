"""The portal measures its own requests per minute, per process, into the "portal" service's SLI points."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from governance.models import Service
from observability import middleware, queries, slo_math
from observability.models import SliPoint, Slo


@pytest.fixture
def measured(db):
    middleware.forget_portal_service()
    with override_settings(SLO_SELF_MEASURE=True, SLO_SELF_FLUSH_SECONDS=0):
        yield Client(raise_request_exception=False)
    middleware.forget_portal_service()


def _portal_rows():
    return list(SliPoint.objects.filter(service__slug="portal", environment__slug="production"))


def test_first_request__feeds_the_portal_service_slos_at_once(measured):
    measured.get("/api/v1/whoami")

    portal = Service.objects.get(slug="portal")  # created by flags' migration (or by the first flush if missing)
    assert Slo.objects.filter(service=portal).count() == 12  # 4 default SLOs x 3 environments
    statuses = queries.slo_statuses(queries.slos_for_check().filter(service=portal, environment__slug="production"),
                                    now=datetime.now(UTC) + timedelta(minutes=1))
    success = next(s for s in statuses if s.slo.name == "api-success")
    assert success.report is not None
    assert success.report.total >= 1  # the SLO reads the portal's own points straight away


def test_requests__are_counted_with_latency_and_queries(measured):
    for _ in range(3):
        # 401 (an unknown token, looked up in the database): not an error of the portal
        measured.get("/api/v1/whoami", HTTP_AUTHORIZATION="Bearer gov_0badc0de_nope")
    measured.get(f"/{settings.ADMIN_PATH}login/")

    rows = _portal_rows()
    assert sum(r.total for r in rows) == 4 and sum(r.errors for r in rows) == 0
    assert all(r.source.startswith("portal:") for r in rows) and len({r.source for r in rows}) == 1
    row = rows[-1]
    assert 300.0 in row.latency_bounds and 400.0 in row.latency_bounds
    assert sum(r.latency_counts[-1] for r in rows) == 4  # every request is under 10 s
    assert sum(r.db_queries for r in rows) >= 3


@pytest.mark.urls("tests.observability.urls_selfmeasure")
def test_server_errors_and_failed_queries__are_counted(measured):
    assert measured.get("/boom").status_code == 500
    assert measured.get("/bad-query").status_code == 200

    rows = _portal_rows()
    assert sum(r.total for r in rows) == 2 and sum(r.errors for r in rows) == 1
    assert sum(r.db_errors for r in rows) == 1


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/static/admin/css/base.css"])
def test_probes_and_static_files__are_not_measured(measured, path):
    measured.get(path)
    assert not SliPoint.objects.exists()


def test_self_measure_off__middleware_is_not_used(db):
    Client().get("/api/v1/whoami")
    assert not SliPoint.objects.exists()


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at
        self.mono = 0.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.mono


def _recorder(clock: Clock, writes: list, flush_seconds: float = 30, fail: list | None = None) -> middleware.Recorder:
    def writer(source, points):
        if fail:
            fail.pop()
            raise ConnectionError("database down")
        writes.append((source, points))

    return middleware.Recorder(flush_seconds=flush_seconds, writer=writer, now=clock.now, monotonic=clock.monotonic)


def test_flush__is_due_at_the_interval_or_when_the_minute_changes():
    clock = Clock(datetime(2025, 3, 10, 12, 0, 10, tzinfo=UTC))
    recorder = _recorder(clock, [])
    assert recorder.record(status=200, elapsed_ms=12, db_queries=1, db_errors=0) is True  # the first one
    recorder.flush()
    assert recorder.record(status=200, elapsed_ms=12, db_queries=1, db_errors=0) is False
    clock.mono = 10
    assert recorder.record(status=200, elapsed_ms=12, db_queries=1, db_errors=0) is False
    clock.at = datetime(2025, 3, 10, 12, 1, 2, tzinfo=UTC)
    assert recorder.record(status=200, elapsed_ms=12, db_queries=1, db_errors=0) is True  # the minute changed
    recorder.flush()
    clock.mono = 45
    assert recorder.record(status=200, elapsed_ms=12, db_queries=1, db_errors=0) is True  # 30 s since the flush


def test_flush__writes_running_totals_and_drops_finished_minutes():
    clock = Clock(datetime(2025, 3, 10, 12, 0, 10, tzinfo=UTC))
    writes: list[tuple[str, Any]] = []
    recorder = _recorder(clock, writes)
    recorder.record(status=200, elapsed_ms=250, db_queries=2, db_errors=0)
    recorder.flush()
    recorder.record(status=503, elapsed_ms=5000, db_queries=1, db_errors=1)
    clock.at += timedelta(minutes=1)
    recorder.record(status=200, elapsed_ms=1, db_queries=0, db_errors=0)
    recorder.flush()

    first, second = writes
    assert [(p.total, p.errors) for p in first[1]] == [(1, 0)]
    # The second flush re-sends 12:00 with its running totals (the row is replaced, not added to) and 12:01.
    assert [(p.minute.minute, p.total, p.errors, p.db_errors) for p in second[1]] == [(0, 2, 1, 1), (1, 1, 0, 0)]
    by_bound = dict(zip(second[1][0].latency_bounds, second[1][0].latency_counts, strict=True))
    assert (by_bound[200], by_bound[300], by_bound[2500], by_bound[5000]) == (0, 1, 1, 2)
    recorder.flush()
    assert len(writes) == 2  # nothing changed: nothing written


def test_failed_flush__keeps_the_minute_for_the_next_one():
    clock = Clock(datetime(2025, 3, 10, 12, 0, 10, tzinfo=UTC))
    writes: list[tuple[str, Any]] = []
    recorder = _recorder(clock, writes, fail=[True])
    recorder.record(status=200, elapsed_ms=5, db_queries=0, db_errors=0)
    assert recorder.flush() is False
    recorder.record(status=200, elapsed_ms=5, db_queries=0, db_errors=0)
    assert recorder.flush() is True
    assert [(p.total) for p in writes[0][1]] == [2]


def test_several_processes__add_up_in_the_same_minute(db, now):
    """Two workers flush the same minute under their own sources; the SLO counts both, and a repeated flush
    (replace) does not count twice."""
    middleware.forget_portal_service()
    minute = slo_math.window_end(now) - timedelta(minutes=1)
    clock = Clock(minute + timedelta(seconds=5))
    workers = [middleware.Recorder(flush_seconds=30, writer=middleware.write_portal_points, now=clock.now,
                                   monotonic=clock.monotonic) for _ in range(2)]
    for worker, requests in zip(workers, (3, 5), strict=True):
        for _ in range(requests):
            worker.record(status=200, elapsed_ms=20, db_queries=1, db_errors=0)
        worker.flush()
    workers[0]._dirty.add(minute)
    workers[0].flush()  # a repeated flush of the same totals

    rows = _portal_rows()
    assert len(rows) == 2 and sorted(r.total for r in rows) == [3, 5]
    portal = Service.objects.get(slug="portal")
    status = next(s for s in queries.slo_statuses(queries.slos_for_check().filter(
        service=portal, environment__slug="production"), now=now) if s.slo.name == "api-success")
    assert status.report is not None and status.report.total == 8
    middleware.forget_portal_service()

