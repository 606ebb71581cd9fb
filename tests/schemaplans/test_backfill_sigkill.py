"""A real qcluster worker is SIGKILLed mid-backfill; a new worker resumes and every row is processed once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from schemaplans import services
from schemaplans.models import Backfill, BackfillProgress
from tests.conftest import ROOT

ROWS = 30000
# pg_sleep keeps each batch's transaction open ~20 ms, so a kill very likely lands inside one.
SLOW_SQL = ("UPDATE bf_items SET new = old, counter = counter + 1 FROM (SELECT pg_sleep(0.02)) AS pause "
            "WHERE id >= %(lo)s AND id < %(hi)s")


def start_worker() -> subprocess.Popen:
    db = settings.DATABASES["default"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "REDIS_URL": "", "Q_WORKERS": "1",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)  # once, to the main process only (django-q2#346)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_killed_mid_run__resumed_backfill_processes_every_row_exactly_once(committed_table, outside_db,
                                                                                  system_user, start_backfill):
    from django_q.tasks import async_task

    committed_table("bf_items", ROWS)
    backfill = services.create_backfill(
        name="copy old to new", table="bf_items", sql=SLOW_SQL, initial_batch_size=100, min_batch_size=50,
        max_batch_size=200, actor=system_user, reason="sigkill test",
    )
    start_backfill(backfill)
    progress = BackfillProgress.objects.filter(pk=backfill.pk)

    first = start_worker()
    try:
        async_task("schemaplans.tasks.run_backfill", backfill.pk, sync=False)
        wait_for(lambda: progress.get().rows_done >= ROWS // 5, 90, "the first worker to make progress")
        # Kill while a batch's UPDATE is executing: its rows are locked and changed but not committed.
        wait_for(lambda: outside_db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND state = 'active' "
            "AND query LIKE 'UPDATE bf_items%%'", [f"backfill-{backfill.pk}"]).fetchone()[0], 30, "a batch in flight")
        os.killpg(first.pid, signal.SIGKILL)  # the whole cluster, no clean-up
        first.wait()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()

    # The server rolls back the killed session's open batch and releases its advisory lock.
    wait_for(lambda: not outside_db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [f"backfill-{backfill.pk}"]
    ).fetchone()[0], 30, "the killed worker's session to end")
    killed_at = progress.get()
    assert Backfill.objects.get(pk=backfill.pk).status == "running"
    assert 0 < killed_at.rows_done < ROWS
    by_counter = dict(outside_db.execute("SELECT counter, count(*) FROM bf_items GROUP BY counter").fetchall())
    assert by_counter == {1: killed_at.rows_done, 0: ROWS - killed_at.rows_done}  # the checkpoint is the truth

    second = start_worker()
    try:
        async_task("schemaplans.tasks.run_backfill", backfill.pk, sync=False)
        wait_for(lambda: Backfill.objects.get(pk=backfill.pk).status == "completed", 180, "the backfill to finish")
    finally:
        stop(second)
        connection.close()

    by_counter = dict(outside_db.execute("SELECT counter, count(*) FROM bf_items GROUP BY counter").fetchall())
    assert by_counter == {1: ROWS}
    assert progress.get().rows_done == ROWS
