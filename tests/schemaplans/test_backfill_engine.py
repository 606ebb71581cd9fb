"""The backfill engine on a real table: every row exactly once, retries, splits, throttles, pauses with errors."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError

from governance.locks import lock_key
from schemaplans import engine, services, tasks
from schemaplans.models import Backfill, BackfillProgress, SchemaPlan
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

COUNTING_SQL = "UPDATE bf_items SET new = old, counter = counter + 1 WHERE id >= %(lo)s AND id < %(hi)s"


@pytest.fixture
def items(committed_table):
    return lambda rows=2000: committed_table("bf_items", rows)


@pytest.fixture
def make_backfill(system_user, start_backfill):
    def make(*, start=True, **fields):
        values = {"name": "copy old to new", "table": "bf_items", "sql": COUNTING_SQL, "initial_batch_size": 100,
                  "min_batch_size": 10, "max_batch_size": 400, "rest_ratio": 0, **fields}
        backfill = services.create_backfill(actor=system_user, reason="test", **values)
        if start:
            start_backfill(backfill, reason="test")
        return backfill

    return make


def counters(conn) -> dict[int, int]:
    """counter value -> how many rows have it."""
    return dict(conn.execute("SELECT counter, count(*) FROM bf_items GROUP BY counter").fetchall())


def progress(backfill) -> BackfillProgress:
    return BackfillProgress.objects.get(pk=backfill.pk)


def status(backfill) -> str:
    return Backfill.objects.get(pk=backfill.pk).status


def test_backfill__processes_every_row_once_and_completes_the_plan(items, make_backfill, plan, outside_db,
                                                                   system_user, start_backfill):
    items(2000)
    for to in ("expanded",):
        services.transition_plan(plan=plan, to=to, actor=system_user, reason="flow")
    backfill = make_backfill(plan=plan, start=False)
    start_backfill(backfill)
    assert SchemaPlan.objects.get(pk=plan.pk).status == "backfilling"

    outcome = engine.run(backfill.pk)

    assert (outcome.state, outcome.rows) == ("done", 2000)
    assert counters(outside_db) == {1: 2000}
    assert outside_db.execute("SELECT count(*) FROM bf_items WHERE new IS DISTINCT FROM old").fetchone()[0] == 0
    p = progress(backfill)
    assert (p.lower_key, p.upper_key, p.next_key, p.rows_done, p.fraction) == (1, 2001, 2001, 2000, 1.0)
    assert p.batches_done == outcome.batches > 1
    assert status(backfill) == "completed"
    plan.refresh_from_db()
    assert plan.status == "backfilled"
    assert plan.history.latest().history_change_reason.startswith(f"backfill #{backfill.pk} completed")


def test_rows_added_after_the_start__are_left_to_the_new_code(items, make_backfill, outside_db):
    items(500)
    backfill = make_backfill()

    def insert_once(lo, hi, rows, seconds):
        if lo == 1:
            outside_db.execute("INSERT INTO bf_items (id, old) VALUES (10000, 1)")

    engine.run(backfill.pk, observer=insert_once)
    assert counters(outside_db) == {1: 500, 0: 1}


def test_batch_size__adapts_towards_the_target_duration():
    grow = engine.next_batch_size(1000, 0.01, target_s=0.2, minimum=10, maximum=50000)
    shrink = engine.next_batch_size(1000, 0.4, target_s=0.2, minimum=10, maximum=50000)
    assert (grow, shrink) == (1200, 500)
    assert engine.next_batch_size(1000, 0.19, target_s=0.2, minimum=10, maximum=50000) == 1052
    assert engine.next_batch_size(45000, 0.0, target_s=0.2, minimum=10, maximum=50000) == 50000
    assert engine.next_batch_size(20, 5.0, target_s=0.2, minimum=10, maximum=50000) == 10
    assert engine.next_batch_size(1, 0.0, target_s=0.2, minimum=1, maximum=50000) == 2


def test_backoff__grows_exponentially_with_jitter():
    import random

    rng = random.Random(7)
    waits = [engine.backoff_seconds(attempt, rng) for attempt in (1, 2, 3, 4, 12)]
    bounds = [(0.025, 0.05), (0.05, 0.1), (0.1, 0.2), (0.2, 0.4), (2.5, 5.0)]
    assert all(low <= wait <= high for wait, (low, high) in zip(waits, bounds, strict=True))


def test_lock_timeouts__are_retried_until_the_lock_goes(items, make_backfill, outside_db):
    items(300)
    backfill = make_backfill(lock_timeout_ms=50, max_attempts=50)
    outside_db.execute("BEGIN")
    outside_db.execute("SELECT * FROM bf_items WHERE id = 150 FOR UPDATE")
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:
            outside_db.execute("COMMIT")

    outcome = engine.run(backfill.pk, sleep=sleep)
    assert outcome.state == "done"
    assert counters(outside_db) == {1: 300}
    assert progress(backfill).retries == 3


def test_batch_that_keeps_failing__is_halved_then_pauses_with_the_error(items, make_backfill, outside_db,
                                                                         system_user):
    items(1000)
    backfill = make_backfill(lock_timeout_ms=20, max_attempts=2, initial_batch_size=100)
    outside_db.execute("BEGIN")
    outside_db.execute("SELECT * FROM bf_items WHERE id = 250 FOR UPDATE")  # never released during the run

    outcome = engine.run(backfill.pk, sleep=lambda s: None)

    assert outcome.state == "paused"
    assert outcome.message.startswith("batch [250, 251) failed 2 times even as a single row: [55P03]")
    bf = Backfill.objects.get(pk=backfill.pk)
    assert bf.status == "paused" and "even as a single row" in bf.status_reason
    assert bf.history.latest().history_user == system_user
    assert progress(backfill).next_key == 250 and "55P03" in progress(backfill).last_error
    assert counters(outside_db) == {1: 249, 0: 751}  # nothing past the stuck row, nothing twice

    outside_db.execute("COMMIT")
    services.resume_backfill(backfill=bf, actor=system_user, reason="lock gone", enqueue=False)
    assert engine.run(backfill.pk).state == "done"
    assert counters(outside_db) == {1: 1000}
    assert progress(backfill).splits >= 6  # 100 → 50 → 25 → 12 → 6 → 3 → 1


def test_non_retriable_error__pauses_at_once_with_the_error(items, make_backfill, outside_db):
    items(100)
    backfill = make_backfill(sql="UPDATE bf_items SET nope = old WHERE id >= %(lo)s AND id < %(hi)s")
    outcome = engine.run(backfill.pk)
    assert outcome.state == "paused"
    assert 'failed: [42703] column "nope" of relation "bf_items" does not exist' in outcome.message
    assert status(backfill) == "paused"
    assert counters(outside_db) == {0: 100}


def test_missing_table__pauses_with_the_error(make_backfill, outside_db):
    outside_db.execute("DROP TABLE IF EXISTS bf_items")
    backfill = make_backfill()
    outcome = engine.run(backfill.pk)
    assert outcome.state == "paused" and "[42P01]" in outcome.message
    assert "relation \"bf_items\" does not exist" in Backfill.objects.get(pk=backfill.pk).status_reason


def test_long_transaction__throttles_until_it_ends(items, make_backfill, outside_db):
    items(200)
    backfill = make_backfill(max_transaction_age_s=1)
    outside_db.execute("BEGIN")
    outside_db.execute("SELECT 1")
    time.sleep(1.2)
    reasons = []

    def sleep(seconds):
        reasons.append(BackfillProgress.objects.get(pk=backfill.pk).throttle_reason)
        if len(reasons) == 2:
            outside_db.execute("COMMIT")

    assert engine.run(backfill.pk, sleep=sleep).state == "done"
    assert reasons[1].startswith("a transaction on the target has been open")
    assert reasons[1].endswith("(limit 1s)")
    p = progress(backfill)
    assert (p.throttled_seconds, p.throttle_reason) == (2.0, "")
    assert counters(outside_db) == {1: 200}


def test_second_worker__does_not_run_a_held_backfill(items, make_backfill, outside_db):
    items(50)
    backfill = make_backfill()
    outside_db.execute("SELECT pg_advisory_lock(%s)", [lock_key(engine.backfill_lock(backfill.pk))])
    outcome = engine.run(backfill.pk)
    assert (outcome.state, counters(outside_db)) == ("busy", {0: 50})
    outside_db.execute("SELECT pg_advisory_unlock(%s)", [lock_key(engine.backfill_lock(backfill.pk))])
    assert engine.run(backfill.pk).state == "done"


def test_pause_between_batches__stops_and_resume_finishes_once(items, make_backfill, outside_db, system_user):
    items(1000)
    backfill = make_backfill(max_batch_size=100)

    def pause_after_first(lo, hi, rows, seconds):
        if lo == 1:
            services.pause_backfill(backfill=backfill, actor=system_user, reason="peak traffic")

    outcome = engine.run(backfill.pk, observer=pause_after_first)
    assert (outcome.state, outcome.batches) == ("stopped", 1)
    done = progress(backfill).rows_done
    assert counters(outside_db) == {1: done, 0: 1000 - done}
    services.resume_backfill(backfill=backfill, actor=system_user, reason="quiet", enqueue=False)
    assert engine.run(backfill.pk).state == "done"
    assert counters(outside_db) == {1: 1000}


def test_cancelled_backfill__is_not_run(items, make_backfill, outside_db, system_user):
    items(10)
    backfill = make_backfill()
    services.cancel_backfill(backfill=backfill, actor=system_user, reason="wrong table")
    assert engine.run(backfill.pk).state == "idle"
    assert counters(outside_db) == {0: 10}


def test_cancel_during_the_last_batch__stays_cancelled(items, make_backfill, outside_db, system_user):
    items(50)
    backfill = make_backfill(max_batch_size=100)

    def cancel(lo, hi, rows, seconds):
        services.cancel_backfill(backfill=backfill, actor=system_user, reason="wrong column")

    outcome = engine.run(backfill.pk, observer=cancel)
    assert (outcome.state, outcome.message, outcome.batches) == ("stopped", "backfill is cancelled", 1)
    assert status(backfill) == "cancelled"
    assert counters(outside_db) == {1: 50}  # the committed batch stays


def test_time_budget__continues_in_a_new_task(items, make_backfill, outside_db):
    items(600)
    backfill = make_backfill(max_batch_size=100)
    outcome = engine.run(backfill.pk, budget_s=0)  # one batch, then a queued task (sync in tests) does the rest
    assert (outcome.state, outcome.batches) == ("budget", 1)
    assert status(backfill) == "completed"
    assert counters(outside_db) == {1: 600}


def test_orphaned_backfill__is_resumed_by_the_schedule(items, make_backfill, outside_db):
    from datetime import timedelta

    from django.utils import timezone

    items(300)
    backfill = make_backfill()
    BackfillProgress.objects.filter(pk=backfill.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    fresh = make_backfill(name="fresh", table="bf_items")
    BackfillProgress.objects.filter(pk=fresh.pk).update(updated_at=timezone.now())
    assert tasks.resume_backfills() == [backfill.pk]  # sync mode: the queued run finished already
    assert status(backfill) == "completed" and status(fresh) == "running"


def test_service_database__is_reached_through_the_named_variable(items, make_backfill, outside_db, monkeypatch,
                                                                  test_dsn):
    items(400)
    monkeypatch.setenv("SHOP_DATABASE_URL", test_dsn)
    backfill = make_backfill(database="SHOP_DATABASE_URL", sql_is_idempotent=True)
    assert engine.run(backfill.pk).state == "done"
    assert counters(outside_db) == {1: 400}
    assert progress(backfill).rows_done == 400


def test_service_database_without_the_variable__pauses_with_a_clear_error(make_backfill, monkeypatch):
    monkeypatch.delenv("SHOP_DATABASE_URL", raising=False)
    backfill = make_backfill(database="SHOP_DATABASE_URL", sql_is_idempotent=True)
    outcome = engine.run(backfill.pk)
    assert (outcome.state, outcome.message) == ("paused", "environment variable SHOP_DATABASE_URL is not set on this "
                                                          "worker")


def test_service_database__needs_idempotent_sql(make_backfill):
    with pytest.raises(ValidationError) as exc:
        make_backfill(database="SHOP_DATABASE_URL")
    assert "at-least-once" in exc.value.message_dict["sql_is_idempotent"][0]


def test_rest_ratio__waits_a_share_of_each_batch(items, make_backfill, outside_db):
    items(300)
    backfill = make_backfill(rest_ratio=0.5, max_batch_size=100)
    batches: list[float] = []
    sleeps: list[float] = []
    engine.run(backfill.pk, sleep=sleeps.append, observer=lambda lo, hi, rows, seconds: batches.append(seconds))
    assert sleeps == pytest.approx([seconds * 0.5 for seconds in batches])


def test_callable__runs_in_the_batch_transaction(items, make_backfill, outside_db):
    items(300)
    backfill = make_backfill(sql="", callable_path="tests.schemaplans.backfill_callables.copy_old_to_new")
    assert engine.run(backfill.pk).state == "done"
    assert counters(outside_db) == {1: 300}
    assert outside_db.execute("SELECT count(*) FROM bf_items WHERE new = old * 10").fetchone()[0] == 300


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"sql": "", "callable_path": "tests.schemaplans.backfill_callables.not_marked"}, "callable_path",
     "is not decorated with @schemaplans.engine.backfill_callable"),
    ({"sql": "", "callable_path": "os.system"}, "callable_path", "is not decorated"),
    ({"sql": "", "callable_path": "nope.nothing"}, "callable_path", "Cannot import"),
    ({"sql": "UPDATE bf_items SET new = old"}, "sql", "Bound the batch with WHERE id >= %(lo)s AND id < %(hi)s"),
    ({"callable_path": "tests.schemaplans.backfill_callables.copy_old_to_new"}, "sql", "not both"),
    ({"min_batch_size": 500, "max_batch_size": 100}, "min_batch_size", "cannot exceed"),
    ({"table": "bf_items; DROP TABLE x"}, "table", "A table name"),
])
def test_invalid_backfill__is_refused(make_backfill, fields, field, message):
    with pytest.raises(ValidationError) as exc:
        make_backfill(start=False, **fields)
    assert message in " ".join(exc.value.message_dict[field])


def test_concurrent_runners__never_apply_a_batch_twice(items, make_backfill, outside_db):
    """Two runners started together: the advisory lock lets one through; the other reports busy."""
    items(3000)
    backfill = make_backfill(initial_batch_size=50, max_batch_size=50)
    outcomes = run_concurrently(lambda: engine.run(backfill.pk).state)
    assert sorted(outcomes) in (["busy", "done"], ["done", "idle"])
    assert counters(outside_db) == {1: 3000}


def test_statement_timeout__halves_the_batch_at_once(items, make_backfill, outside_db):
    items(400)
    slow_when_big = ("UPDATE bf_items SET new = old, counter = counter + 1 "
                     "FROM (SELECT pg_sleep(CASE WHEN %(hi)s - %(lo)s > 50 THEN 2 ELSE 0 END)) AS pause "
                     "WHERE id >= %(lo)s AND id < %(hi)s")
    backfill = make_backfill(sql=slow_when_big, target_batch_ms=100, statement_timeout_ms=300)
    sleeps: list[float] = []
    assert engine.run(backfill.pk, sleep=sleeps.append).state == "done"
    assert sleeps == []  # no backoff: a timeout is not contention
    assert counters(outside_db) == {1: 400}
    p = progress(backfill)
    assert p.splits >= 1 and p.retries == p.splits
    assert p.max_batch_ms < 300


def test_statement_timeout_not_above_the_target__is_refused(make_backfill):
    with pytest.raises(ValidationError) as exc:
        make_backfill(start=False, target_batch_ms=200, statement_timeout_ms=200)
    assert "must exceed the target" in exc.value.message_dict["statement_timeout_ms"][0]
