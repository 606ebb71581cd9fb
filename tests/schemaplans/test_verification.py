"""Verification proves rather than waits: N consecutive zero runs spanning the window, evidence for each run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from governance.services import save_audited
from schemaplans import services, tasks
from schemaplans.models import SchemaPlan

S = SchemaPlan.Status


@pytest.fixture
def mismatched(committed_table, outside_db):
    """A committed table where 5 of 20 rows still differ (new != old)."""
    table = committed_table("verify_items", 20, fill="g, g")
    outside_db.execute("UPDATE verify_items SET new = NULL WHERE id <= 5")
    return table


@pytest.fixture
def verifying(plan, release_manager, clock):
    def start(sql: str = "SELECT count(*) FROM verify_items WHERE new IS DISTINCT FROM old", *, runs: int = 3,
              window: timedelta = timedelta(hours=1), database: str = "default"):
        plan.verification_sql, plan.required_zero_runs, plan.verification_window = sql, runs, window
        plan.database = database
        save_audited(instance=plan, actor=release_manager, reason="set up the proof",
                     update_fields=["verification_sql", "required_zero_runs", "verification_window", "database"])
        for to in (S.EXPANDED, S.BACKFILLING, S.BACKFILLED, S.VERIFYING):
            services.transition_plan(plan=plan, to=to, actor=release_manager, reason="flow")
        plan.refresh_from_db()
        return plan

    return start


def verify(plan, user, clock=None, **advance):
    if clock and advance:
        clock.advance(**advance)
    run = services.verify_plan(plan=plan, actor=user, reason="check")
    plan.refresh_from_db()
    return run


def test_zero_runs_spanning_the_window__verify_the_plan(verifying, committed_table, release_manager, clock):
    committed_table("verify_items", 10, fill="g, g")
    plan = verifying()
    verify(plan, release_manager)
    verify(plan, release_manager, clock, minutes=30)
    assert plan.status == S.VERIFYING
    run = verify(plan, release_manager, clock, minutes=31)
    assert (run.mismatches, run.zero_streak, plan.status) == (0, 3, S.VERIFIED)
    record = plan.history.latest()
    assert record.history_user == release_manager
    assert record.history_change_reason.startswith("check: 3 consecutive runs found 0 mismatching rows over 1:01")


def test_enough_runs_inside_the_window__keep_verifying_until_it_is_spanned(verifying, committed_table,
                                                                          release_manager, clock):
    committed_table("verify_items", 10, fill="g, g")
    plan = verifying()
    for _ in range(5):
        verify(plan, release_manager, clock, minutes=1)
    assert (plan.status, plan.verification_runs.first().zero_streak) == (S.VERIFYING, 5)
    verify(plan, release_manager, clock, minutes=55)
    assert plan.status == S.VERIFYING  # six zero runs, but they span 59 minutes of the hour
    verify(plan, release_manager, clock, minutes=1)
    assert plan.status == S.VERIFIED


def test_mismatches__restart_the_count_and_record_how_many(verifying, mismatched, outside_db, release_manager,
                                                           clock):
    plan = verifying()
    run = verify(plan, release_manager)
    assert (run.mismatches, run.zero_streak, run.streak_started_at) == (5, 0, None)
    outside_db.execute("UPDATE verify_items SET new = old")
    first_zero = verify(plan, release_manager, clock, minutes=10)
    verify(plan, release_manager, clock, minutes=30)
    outside_db.execute("UPDATE verify_items SET new = NULL WHERE id = 7")
    bad = verify(plan, release_manager, clock, minutes=30)
    assert (bad.mismatches, bad.zero_streak) == (1, 0)
    outside_db.execute("UPDATE verify_items SET new = old")
    again = verify(plan, release_manager, clock, minutes=1)
    assert (again.zero_streak, again.streak_started_at) == (1, clock.now)
    assert again.streak_started_at > first_zero.ran_at
    assert plan.status == S.VERIFYING
    assert list(plan.verification_runs.order_by("ran_at").values_list("mismatches", flat=True)) == [5, 0, 0, 1, 0]


def test_failing_query__is_recorded_and_restarts_the_count(verifying, committed_table, release_manager, clock):
    committed_table("verify_items", 3, fill="g, g")
    plan = verifying()
    verify(plan, release_manager)
    edit_sql = "SELECT count(*) FROM no_such_table"
    plan.verification_sql = edit_sql
    save_audited(instance=plan, actor=release_manager, reason="typo", update_fields=["verification_sql"])
    run = verify(plan, release_manager, clock, minutes=5)
    assert run.mismatches is None and run.zero_streak == 0
    assert run.error.startswith("query failed [42P01]: relation \"no_such_table\" does not exist")


@pytest.mark.parametrize(("sql", "error"), [
    ("SELECT 1, 2", "must return one row with one number, got 1 row(s) of 2 column(s)"),
    ("SELECT 'x'", "must return a count (an integer >= 0), got 'x'"),
    ("SELECT -1", "must return a count (an integer >= 0), got -1"),
    ("SELECT g FROM generate_series(1, 2) g", "must return one row with one number, got 2 row(s)"),
])
def test_query_that_is_not_a_count__is_a_failed_run(verifying, release_manager, sql, error):
    plan = verifying(sql)
    run = verify(plan, release_manager)
    assert run.mismatches is None and error in run.error


def test_writing_verification_query__is_refused_at_save(verifying, mismatched, outside_db, release_manager):
    with pytest.raises(ValidationError) as exc:
        verifying("WITH gone AS (DELETE FROM verify_items RETURNING 1) SELECT count(*) FROM gone")
    assert "nested DELETE" in " ".join(exc.value.message_dict["verification_sql"])
    assert outside_db.execute("SELECT count(*) FROM verify_items").fetchone()[0] == 20


def test_runs_before_reentering_verifying__do_not_count(verifying, committed_table, release_manager, clock):
    committed_table("verify_items", 3, fill="g, g")
    plan = verifying(window=timedelta(0))
    verify(plan, release_manager)
    verify(plan, release_manager, clock, minutes=1)
    services.transition_plan(plan=plan, to=S.BACKFILLING, actor=release_manager, reason="one more pass")
    for to in (S.BACKFILLED, S.VERIFYING):
        clock.advance(minutes=1)
        services.transition_plan(plan=plan, to=to, actor=release_manager, reason="flow")
    run = verify(plan, release_manager, clock, minutes=1)
    assert (run.zero_streak, plan.status) == (1, S.VERIFYING)


def test_service_database__is_reached_through_the_named_variable(verifying, committed_table, release_manager,
                                                                 monkeypatch, test_dsn):
    committed_table("verify_items", 4, fill="g, g")
    plan = verifying(database="SHOP_DATABASE_URL", runs=1, window=timedelta(0))
    monkeypatch.delenv("SHOP_DATABASE_URL", raising=False)
    run = verify(plan, release_manager)
    assert run.error == "environment variable SHOP_DATABASE_URL is not set on this worker"
    monkeypatch.setenv("SHOP_DATABASE_URL", test_dsn)
    run = verify(plan, release_manager)
    assert (run.mismatches, plan.status) == (0, S.VERIFIED)


def test_unreachable_service_database__error_never_shows_the_dsn(verifying, release_manager, monkeypatch):
    plan = verifying(database="SHOP_DATABASE_URL")
    monkeypatch.setenv("SHOP_DATABASE_URL", "postgresql://shop:s3cr3t-pw@127.0.0.1:1/shop")
    run = verify(plan, release_manager)
    assert run.error.startswith("cannot connect to SHOP_DATABASE_URL")
    assert "s3cr3t-pw" not in run.error


def test_plan_not_verifying__is_not_verified(plan, release_manager):
    with pytest.raises(ValidationError, match="only a verifying plan is verified"):
        services.verify_plan(plan=plan, actor=release_manager, reason="check")


def test_scheduled_job__runs_each_verifying_plan_once(verifying, committed_table, service, system_user):
    committed_table("verify_items", 3, fill="g, g")
    plan = verifying()
    idle = services.create_plan(service=service, slug="idle-plan", table="t", verification_sql="SELECT 0",
                                actor=system_user, reason="not verifying")
    assert tasks.verify_plans() == ["orders-status-code: 0 mismatching rows (zero streak 1/3)"]
    assert idle.verification_runs.count() == 0
    assert plan.verification_runs.get().zero_streak == 1


def test_scheduled_job__verifies_as_the_system_user(verifying, committed_table, system_user):
    committed_table("verify_items", 3, fill="g, g")
    plan = verifying(runs=1, window=timedelta(0))
    tasks.verify_plans()
    plan.refresh_from_db()
    record = plan.history.latest()
    assert (plan.status, record.history_user) == (S.VERIFIED, system_user)
    assert record.history_change_reason.startswith("schedule: verify schema plans: 1 consecutive runs found 0")
