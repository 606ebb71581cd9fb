"""Schedules and alerts: cron schedules, the scheduled jobs, and signed alerts to a real local webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils import timezone

from governance.audit_base import history_recorded_by_caller
from governance.schedules import ensure_schedules
from recovery import services, tasks
from recovery.models import Backup, BackupTarget, Drill

SECRET = "dr-webhook-secret-for-tests"


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.url = ""


@pytest.fixture
def receiver(dr_settings) -> Iterator[Receiver]:
    recv = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(self.headers.get("X-Governance-Signature", ""), expected)
            recv.requests.append({"body": json.loads(body), "signed": signed, "path": self.path})
            self.send_response(200 if signed else 401)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recv.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/dr"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    dr_settings.DR_ALERT_WEBHOOK_URL = recv.url
    dr_settings.DR_ALERT_WEBHOOK_SECRET = SECRET
    try:
        yield recv
    finally:
        server.shutdown()
        server.server_close()


def _backdate_target(target: BackupTarget, days: int) -> None:
    # Arranging the past: the target was configured `days` ago (not a governed change, so no history).
    with history_recorded_by_caller():
        BackupTarget.objects.filter(pk=target.pk).update(created_at=timezone.now() - timedelta(days=days))


def _run_drill(target, actor, capture, reason="monthly"):
    with capture(execute=True):
        drill = services.request_drill(target=target, kind="restore", actor=actor, reason=reason)
    drill.refresh_from_db()
    return drill


def test_target_never_drilled_for_31_days__missed_schedule_alert_is_sent_signed(receiver, target, system_user,
                                                                                 tmp_path):
    _backdate_target(target, 45)
    young = services.create_backup_target(name="new-db", directory=str(tmp_path / "new"), actor=system_user,
                                          reason="added yesterday")

    alerted = tasks.check_missed_drills()

    assert alerted == ["shop-db"]  # new-db has not missed a monthly drill yet
    assert young.name not in alerted
    [request] = receiver.requests
    assert request["signed"] and request["path"] == "/hooks/dr"
    body = request["body"]
    assert body["title"] == "DR drill missed its schedule: shop-db"
    assert body["severity"] == "warning" and body["source"] == "governance-portal/recovery"
    assert body["fields"]["Last passed drill"] == "never"
    assert "no restore drill ever passed" in body["text"] and "govctl drill run --target shop-db" in body["text"]


def test_last_passed_drill_older_than_31_days__alerts_recent_one_does_not(receiver, target, system_user,
                                                                          django_capture_on_commit_callbacks):
    _backdate_target(target, 90)
    services.take_backup(target=target, actor=system_user, reason="nightly")
    drill = _run_drill(target, system_user, django_capture_on_commit_callbacks)
    assert drill.status == "passed"
    assert tasks.check_missed_drills() == [] and receiver.requests == []

    Drill.objects.filter(pk=drill.pk).update(finished_at=drill.finished_at - timedelta(days=40))

    assert tasks.check_missed_drills() == ["shop-db"]
    body = receiver.requests[0]["body"]
    assert body["fields"]["Last passed drill"] == (drill.finished_at - timedelta(days=40)).isoformat()


def test_failed_drill__sends_a_critical_signed_alert_naming_the_failing_layer(receiver, target, system_user,
                                                                              django_capture_on_commit_callbacks):
    backup = services.take_backup(target=target, actor=system_user, reason="nightly")
    Path(backup.path).write_bytes(b"not a dump")

    drill = _run_drill(target, system_user, django_capture_on_commit_callbacks)

    assert drill.status == "failed"
    [request] = receiver.requests
    assert request["signed"]
    body = request["body"]
    assert body["severity"] == "critical"
    assert body["title"] == f"DR drill #{drill.pk} FAILED: restore of shop-db's backup #{drill.backup_id}"
    assert body["fields"]["Failed layers"] == "integrity"
    assert f"backup file {Path(backup.path).name} is damaged" in body["text"]


def test_failed_backup__sends_an_alert_once_recorded(receiver, target, system_user, monkeypatch,
                                                     django_capture_on_commit_callbacks):
    monkeypatch.delenv("GOV_REC2_SRC_DSN")

    with django_capture_on_commit_callbacks(execute=True):
        backup = services.take_backup(target=target, actor=system_user, reason="nightly")

    assert backup.status == "failed"
    [request] = receiver.requests
    assert request["signed"] and request["body"]["title"] == f"DR backup #{backup.pk} of shop-db FAILED"


def test_ensure_schedules__creates_the_recovery_cron_schedules_for_their_next_slot(db):
    from django_q.models import Schedule

    ensure_schedules()
    ensure_schedules()  # idempotent

    crons = dict(Schedule.objects.filter(name__startswith="recovery:").values_list("name", "cron"))
    assert crons == {"recovery: nightly backups": "0 2 * * *", "recovery: monthly restore drills": "0 3 1 * *",
                     "recovery: drills missed their schedule": "30 6 * * *"}
    drills = Schedule.objects.get(name="recovery: monthly restore drills")
    assert drills.schedule_type == "C" and drills.func == "recovery.tasks.monthly_restore_drills"
    assert drills.next_run > timezone.now() and (drills.next_run.day, drills.next_run.hour) == (1, 3)


def test_scheduled_jobs__back_up_and_drill_every_enabled_target(target, system_user, tmp_path,
                                                                 django_capture_on_commit_callbacks):
    disabled = services.create_backup_target(name="old-db", directory=str(tmp_path / "old"), enabled=False,
                                             actor=system_user, reason="retired")

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.nightly_backups() == [target.pk]
    with django_capture_on_commit_callbacks(execute=True):
        [drill_id] = tasks.monthly_restore_drills()

    backup = Backup.objects.get()
    assert (backup.target, backup.status, backup.created_by, backup.reason) == (
        target, "succeeded", system_user, "scheduled: nightly backup")
    drill = Drill.objects.get(pk=drill_id)
    assert (drill.target, drill.status, drill.reason, drill.backup) == (
        target, "passed", "scheduled: monthly restore drill", backup)
    assert not disabled.backups.exists() and not disabled.drills.exists()


def test_drill_left_running_by_a_killed_worker__is_failed_by_the_daily_check(receiver, target, system_user,
                                                                             dr_settings):
    drill = services.request_drill(target=target, kind="restore", actor=system_user, reason="monthly")
    started = timezone.now() - timedelta(seconds=dr_settings.DR_DRILL_TIMEOUT_SECONDS + 2 * 3600)
    Drill.objects.filter(pk=drill.pk).update(status="running", started_at=started)  # the worker died here
    fresh = services.request_drill(target=target, kind="restore", actor=system_user, reason="just queued")

    tasks.check_missed_drills()

    drill.refresh_from_db()
    fresh.refresh_from_db()
    assert drill.status == "failed" and drill.error.startswith("abandoned: running since")
    assert drill.verdicts[0]["layer"] == "worker"
    assert fresh.status == "queued"
