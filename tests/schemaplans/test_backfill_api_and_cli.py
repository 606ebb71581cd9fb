"""Backfills over the API (pause/resume/cancel) and `govctl backfill status [--watch]` against a live portal."""

from __future__ import annotations

import json
import threading

import pytest
from govctl.cli import main
from govctl.commands.backfill import progress_bar, render

from schemaplans import engine, services
from schemaplans.models import Backfill, BackfillProgress


def post(api, make_token, backfill, verb, **body):
    return api(make_token("releases:write")).post(f"/api/v1/backfills/{backfill.pk}/{verb}",
                                                  {"reason": "ci says so", **body}, format="json")


def test_pause_resume_cancel__move_the_backfill_with_actor_and_reason(api, make_token, backfill, start_backfill):
    start_backfill(backfill)
    paused = post(api, make_token, backfill, "pause")
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    record = Backfill.objects.get(pk=backfill.pk).history.latest()
    assert (record.history_user.username, record.history_change_reason) == ("ci-bot", "api (ci): ci says so")
    assert post(api, make_token, backfill, "resume").json()["status"] == "running"
    assert post(api, make_token, backfill, "cancel").json()["status"] == "cancelled"


def test_invalid_state_change__is_400_with_the_reason(api, make_token, backfill):
    response = post(api, make_token, backfill, "resume")
    assert response.status_code == 400
    assert response.json()["errors"]["status"] == [
        f"Backfill #{backfill.pk} is pending: this moves it to running only from paused."
    ]


def test_missing_reason_or_backfill__is_a_problem(api, make_token, backfill):
    client = api(make_token("releases:write"))
    assert client.post(f"/api/v1/backfills/{backfill.pk}/cancel", {}, format="json").status_code == 400
    assert client.post("/api/v1/backfills/999999/cancel", {"reason": "x"}, format="json").status_code == 404


def test_detail__shows_progress(api, make_token, backfill):
    BackfillProgress.objects.filter(pk=backfill.pk).update(lower_key=1, upper_key=101, next_key=51, rows_done=50,
                                                           estimated_rows=100, active_seconds=10)
    body = api(make_token("flags:read")).get(f"/api/v1/backfills/{backfill.pk}").json()
    assert (body["status"], body["plan"], body["service"]) == ("pending", "orders-status-code", "shop")
    p = body["progress"]
    assert (p["fraction"], p["rate_rows_per_second"], p["eta_seconds"], p["next_key"]) == (0.5, 5.0, 10.0, 51)


def test_render__draws_a_text_progress_bar():
    assert progress_bar(0.5, width=10) == "[#####.....]  50.0%"
    assert progress_bar(None, width=4) == "[....]   --.-%"
    text = render({"id": 3, "name": "copy", "status": "paused", "plan": "p1", "status_reason": "peak traffic",
                   "progress": {"fraction": 0.25, "rows_done": 2500, "estimated_rows": 10000,
                                "rate_rows_per_second": 500.0, "eta_seconds": 15.0, "next_key": 2501,
                                "batch_size": 1200, "throttle_reason": ""}})
    assert text.splitlines() == [
        "backfill #3 copy [paused] plan p1",
        "[#######.......................]  25.0%  2,500 of ~10,000 rows  500 rows/s  ETA 0:00:15  last key 2501"
        "  batch 1,200",
        "paused: peak traffic",
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_govctl_watch__follows_a_running_backfill_to_completion(live_server, monkeypatch, make_token, system_user,
                                                               committed_table, capsys, start_backfill):
    committed_table("bf_items", 3000)
    backfill = services.create_backfill(
        name="copy", table="bf_items", initial_batch_size=100, max_batch_size=100, actor=system_user, reason="x",
        sql="UPDATE bf_items SET new = old FROM (SELECT pg_sleep(0.01)) s WHERE id >= %(lo)s AND id < %(hi)s",
    )
    start_backfill(backfill)
    monkeypatch.setenv("GOVERNANCE_URL", live_server.url)
    monkeypatch.setenv("GOVERNANCE_TOKEN", make_token("releases:write"))

    def worker():
        from django.db import connection

        engine.run(backfill.pk)
        connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert main(["backfill", "status", str(backfill.pk), "--watch", "--interval", "0.2s"]) == 0
    finally:
        thread.join()
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == [f"backfill #{backfill.pk} copy [completed]",
                          lines[-1]] and lines[-1].startswith("[##############################] 100.0%  3,000 of ~3,000")
    assert sum(line.startswith("backfill #") for line in lines) >= 2  # it polled while the backfill ran

    assert main(["backfill", "pause", str(backfill.pk), "--reason", "too late"]) == 1  # completed: refused
    assert "cannot move to paused" in capsys.readouterr().err
    assert main(["backfill", "status", str(backfill.pk), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["progress"]["rows_done"] == 3000


def test_govctl_lint_json__carries_the_artifact_list(tmp_path, capsys):
    sql = tmp_path / "0045.sql"
    sql.write_text("-- emc: contract plan=orders-status-code\nALTER TABLE orders DROP COLUMN status;\n")
    main(["migrations", "lint", "--format", "json", "--lock-timeout-set", str(sql)])
    assert json.loads(capsys.readouterr().out)["migrations"] == [
        {"name": str(sql), "phase": "contract", "plan": "orders-status-code"}]


def test_backfill_status_with_a_zero_interval__is_a_usage_error(capsys):
    assert main(["backfill", "status", "1", "--watch", "--interval", "0s"]) == 2
    assert "--interval must be a positive number of seconds" in capsys.readouterr().err
