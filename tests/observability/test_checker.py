"""The checker: SQL sums agree with the pure maths; snapshots; deduplicated alerts; the advisory lock."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from governance.locks import lock_key
from observability import queries, services, slo_math
from observability.models import SliPoint, SloAlert, SloCheckRun, SloSnapshot
from tests.observability.conftest import slo_named, steady


def _mixed_points(end, minutes, seed):
    rng = random.Random(seed)
    points = {}
    for m in range(1, minutes + 1):
        minute = end - timedelta(minutes=m)
        total = rng.choice([0, 3, 40, 120, 500])
        errors = min(total, rng.choice([0, 0, 0, 1, 2, 10, total // 10]))
        le100 = rng.randint(0, total)
        le300 = rng.randint(le100, total)
        le500 = rng.randint(le300, total)
        buckets: dict[float, int] = rng.choice([{}, {100: le100, 300: le300, 500: le500}, {250: le300, 1000: le500}])
        queries_ = rng.choice([0, 10, 200])
        points[minute] = slo_math.SliPoint(minute=minute, total=total, errors=errors, latency_buckets=buckets,
                                           db_queries=queries_, db_errors=min(queries_, rng.choice([0, 0, 1, 3])))
    return points


def _merge(a, b):
    """Two sources' points of the same minutes, as the checker sees them (summed per minute)."""
    merged = dict(a)
    for minute, p in b.items():
        if minute not in merged:
            merged[minute] = p
            continue
        q = merged[minute]
        buckets = {}
        # Good counts add per source, so merge the histograms only when both have the same bounds.
        if set(p.latency_buckets) == set(q.latency_buckets):
            buckets = {k: p.latency_buckets[k] + q.latency_buckets[k] for k in p.latency_buckets}
        elif p.latency_buckets or q.latency_buckets:
            return None
        merged[minute] = slo_math.SliPoint(minute=minute, total=p.total + q.total, errors=p.errors + q.errors,
                                           latency_buckets=buckets, db_queries=p.db_queries + q.db_queries,
                                           db_errors=p.db_errors + q.db_errors)
    return merged


def test_sql_sums__equal_the_pure_maths_for_every_sli_type(service, production, write_points, now):
    end = slo_math.window_end(now)
    points = _mixed_points(end, 7 * 24 * 60 + 30, seed=7)  # a little older than the window too
    write_points(service, production, points)
    slos = list(queries.slos_for_check().filter(service=service, environment=production))
    assert len(slos) == 4

    statuses = queries.slo_statuses(slos, now=now)

    for status in statuses:
        d = status.definition
        expected = slo_math.evaluate_budget(d, points, now)
        assert status.report == expected, d.name
        assert status.decisions == slo_math.evaluate_burn_alerts(points, d, now), d.name


def test_several_sources__add_up_per_minute(service, production, write_points, now):
    end = slo_math.window_end(now)
    a = {m: p for m, p in _mixed_points(end, 600, seed=1).items() if len(p.latency_buckets) != 2}
    b = {m: p for m, p in _mixed_points(end, 600, seed=2).items() if len(p.latency_buckets) != 2}
    b = {m: slo_math.SliPoint(minute=m, total=p.total, errors=p.errors, db_queries=p.db_queries,
                              db_errors=p.db_errors) for m, p in b.items()}  # b has no histogram
    a = {m: slo_math.SliPoint(minute=m, total=p.total, errors=p.errors, db_queries=p.db_queries,
                              db_errors=p.db_errors) for m, p in a.items()}
    write_points(service, production, a, source="lb-1")
    write_points(service, production, b, source="lb-2")
    merged = _merge(a, b)
    statuses = queries.slo_statuses(queries.slos_for_check().filter(service=service, environment=production),
                                    now=now)
    for status in statuses:
        assert status.report == slo_math.evaluate_budget(status.definition, merged, now), status.definition.name


def test_burndown_buckets__equal_the_pure_burndown(service, production, write_points, now):
    end = slo_math.window_end(now)
    points = _mixed_points(end, 3 * 24 * 60, seed=3)
    write_points(service, production, points)
    statuses = queries.slo_statuses(queries.slos_for_check().filter(service=service, environment=production),
                                    now=now)
    series = queries.burndown_series(statuses)
    for status in statuses:
        assert series.get(status.slo.pk, []) == slo_math.budget_burndown(status.definition, points, now), \
            status.definition.name


def test_one_aggregate_query__per_service_and_environment(service, other_service, production, preview,
                                                          django_assert_max_num_queries, now):
    slos = list(queries.slos_for_check().filter(environment__in=[production, preview],
                                                service__in=[service, other_service]))
    assert len(slos) == 16  # 2 services x 2 environments x 4 SLOs
    with django_assert_max_num_queries(4):
        queries.slo_statuses(slos, now=now)


def _fast_burn(end):
    """A healthy week, then 20% errors for the last 70 minutes: pages fire and the week's budget is overspent."""
    points = steady(end, 7 * 24 * 60, total=100)
    for m in range(1, 71):
        minute = end - timedelta(minutes=m)
        points[minute] = slo_math.SliPoint(minute=minute, total=100, errors=20)
    return points


def test_checker__snapshots_every_slo_and_opens_one_alert_per_pair(service, production, write_points, now):
    write_points(service, production, _fast_burn(slo_math.window_end(now)))

    run = services.run_slo_check(kind="hourly", now=now)

    assert run.status == "ok" and run.slo_count == SloSnapshot.objects.filter(check_run=run).count() > 0
    alerts = SloAlert.objects.filter(resolved_at__isnull=True, kind="burn_rate")
    pairs = {(a.slo.name if a.slo else None, a.long_window, a.short_window, a.severity) for a in alerts}
    # 20% errors = burn rate 200 for api-success; 1,400 bad requests > the 1,008 the week allows.
    assert ("api-success", timedelta(hours=1), timedelta(minutes=5), "critical") in pairs
    snapshot = SloSnapshot.objects.get(check_run=run, slo__name="api-success", slo__environment=production,
                                       slo__service=service)
    assert snapshot.verdict == "breached" and snapshot.budget_remaining < 0
    assert any(b["firing"] and b["long"] == "1h" for b in snapshot.burn_rates)
    alert = alerts.first()
    assert alert is not None
    record = alert.history.latest()
    assert record.history_user.username == "system" and record.history_change_reason.startswith("slo checker")


def test_checker_twice__keeps_one_open_alert_per_pair(service, production, write_points, now):
    write_points(service, production, _fast_burn(slo_math.window_end(now)))
    services.run_slo_check(kind="hourly", now=now)
    first = set(SloAlert.objects.filter(resolved_at__isnull=True).values_list("pk", flat=True))

    second_run = services.run_slo_check(kind="hourly", now=now + timedelta(minutes=1))

    assert second_run.alerts_opened == 0
    assert set(SloAlert.objects.filter(resolved_at__isnull=True).values_list("pk", flat=True)) == first
    assert SloAlert.objects.get(pk=min(first)).last_seen_at > SloAlert.objects.get(pk=min(first)).opened_at


def test_burn_stops__alert_resolves_and_a_new_burn_opens_a_new_one(service, production, write_points, now):
    end = slo_math.window_end(now)
    write_points(service, production, _fast_burn(end))
    services.run_slo_check(kind="hourly", now=now)
    page = SloAlert.objects.get(resolved_at__isnull=True, slo__name="api-success", slo__environment=production,
                                long_window=timedelta(hours=1))
    # Ten clean minutes: the 5-minute short window is healthy again, so the fast page resolves.
    later = now + timedelta(minutes=10)
    write_points(service, production, steady(slo_math.window_end(later), 10, total=100))

    run = services.run_slo_check(kind="hourly", now=later)

    page.refresh_from_db()
    assert page.resolved_at == later and run.alerts_resolved >= 1
    assert "back under the threshold" in page.history.latest().history_change_reason
    # Burning again opens a fresh alert (the resolved one stays closed).
    again = later + timedelta(minutes=5)
    burst = {slo_math.window_end(again) - timedelta(minutes=m): slo_math.SliPoint(
        minute=slo_math.window_end(again) - timedelta(minutes=m), total=100, errors=50) for m in range(1, 6)}
    write_points(service, production, burst)
    services.run_slo_check(kind="hourly", now=again)
    reopened = SloAlert.objects.get(resolved_at__isnull=True, slo__name="api-success", slo__environment=production,
                                    long_window=timedelta(hours=1))
    assert reopened.pk != page.pk and reopened.dedupe_key == page.dedupe_key


def test_disabled_slo__its_alerts_resolve_on_the_full_run(service, production, write_points, now, system_user):
    write_points(service, production, _fast_burn(slo_math.window_end(now)))
    services.run_slo_check(kind="hourly", now=now)
    slo = slo_named(service, production, "api-success")
    services.update_slo(slo=slo, enabled=False, actor=system_user, reason="retired")

    services.run_slo_check(kind="nightly", now=now)

    assert not SloAlert.objects.filter(slo=slo, resolved_at__isnull=True).exists()


def test_nightly_run__purges_points_past_the_retention(service, production, write_points, now, settings):
    old = now - timedelta(days=settings.SLI_RETENTION_DAYS + 1)
    write_points(service, production, steady(slo_math.window_end(old), 3, total=10))
    write_points(service, production, steady(slo_math.window_end(now), 3, total=10))

    run = services.run_slo_check(kind="nightly", now=now)

    assert SliPoint.objects.count() == 3 and "purged 3 SLI points" in run.detail


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_lock_held_elsewhere__run_is_recorded_as_skipped():
    held, release = threading.Event(), threading.Event()

    def hold():
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_key(services.CHECK_LOCK)])
            held.set()
            release.wait(10)
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key(services.CHECK_LOCK)])
        connections["default"].close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        run = services.run_slo_check(kind="hourly", now=timezone.now())
    finally:
        release.set()
        thread.join()
    assert run.status == SloCheckRun.Status.SKIPPED
    after = services.run_slo_check(kind="hourly", now=timezone.now())
    assert after.status == SloCheckRun.Status.OK
    connection.close()
