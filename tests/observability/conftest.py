"""Fixtures for the Django side of observability: SLI points written straight through the shared upsert."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from observability import sli, slo_math
from observability.models import Slo


@pytest.fixture
def now() -> datetime:
    """A moment 30 s into the current minute: windows end at its start."""
    return timezone.now().replace(second=30, microsecond=0)


def to_point(p: slo_math.SliPoint) -> sli.Point:
    bounds = tuple(sorted(float(b) for b in p.latency_buckets))
    counts = tuple(p.latency_buckets[b] for b in sorted(p.latency_buckets))
    return sli.Point(minute=p.minute, total=p.total, errors=p.errors, latency_bounds=bounds, latency_counts=counts,
                     db_queries=p.db_queries, db_errors=p.db_errors)


@pytest.fixture
def write_points(db) -> Callable[..., None]:
    def write(service, environment, points: Mapping[datetime, slo_math.SliPoint] | list[slo_math.SliPoint],
              source: str = "default") -> None:
        values = list(points.values()) if isinstance(points, Mapping) else list(points)
        for start in range(0, len(values), 5000):
            sli.upsert_points(service_id=service.pk, environment_id=environment.pk, source=source,
                              points=[to_point(p) for p in values[start:start + 5000]])

    return write


def steady(end: datetime, minutes: int, total: int, errors: int = 0, **extra) -> dict[datetime, slo_math.SliPoint]:
    """`minutes` of identical traffic in the complete minutes before `end`."""
    return {end - timedelta(minutes=m): slo_math.SliPoint(minute=end - timedelta(minutes=m), total=total,
                                                          errors=errors, **extra)
            for m in range(1, minutes + 1)}


def slo_named(service, environment, name: str) -> Slo:
    return Slo.objects.select_related("service", "environment").get(service=service, environment=environment,
                                                                     name=name)


@pytest.fixture
def bad_hour_in_a_window(service, production, write_points, now) -> tuple[datetime, datetime]:
    """A week of clean traffic (100 requests a minute) with one hour of 50% errors three hours ago."""
    end = slo_math.window_end(now)
    points = steady(end, 7 * 24 * 60, total=100)
    bad_start = end - timedelta(hours=3)
    for m in range(60):
        minute = bad_start + timedelta(minutes=m)
        points[minute] = slo_math.SliPoint(minute=minute, total=100, errors=50)
    write_points(service, production, points)
    return bad_start, end


def declare_maintenance(service, system_user, start: datetime, end: datetime, *, created_at: datetime | None = None):
    """A status-page scheduled maintenance of `service` over [start, end); by default entered now."""
    from status import services as status_services
    from status.models import Incident

    window = status_services.schedule_maintenance(service=service, name="Upgrade", body="Planned.",
                                                  scheduled_for=start, scheduled_until=end, actor=system_user,
                                                  reason="declared beforehand")
    if created_at is not None:  # arranging the past: the window was entered at `created_at`
        from governance.audit_base import history_recorded_by_caller

        with history_recorded_by_caller():
            Incident.objects.filter(pk=window.pk).update(created_at=created_at)
    return window


@pytest.fixture
def webhook_receiver():
    """The real HTTP receiver of the notification tests (signature-checking, on 127.0.0.1)."""
    import threading
    from http.server import ThreadingHTTPServer

    from tests.observability.test_notifications import Receiver, _handler

    recv = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recv))
    recv.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield recv
    finally:
        server.shutdown()
        server.server_close()
