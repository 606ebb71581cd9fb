"""Restore drills through the portal's services: evidence rows, verdicts and the report."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from governance.locks import lock_key
from recovery import services
from recovery.models import Backup, Drill
from tests.recovery.helpers import ADMIN_DSN

pytestmark = pytest.mark.usefixtures("no_leftover_rec2_shadows")


def _request_and_run(target, actor, django_capture_on_commit_callbacks, kind="restore", reason="quarterly check"):
    # Sync mode: the task runs inline when the request's transaction commits (on_commit).
    with django_capture_on_commit_callbacks(execute=True):
        drill = services.request_drill(target=target, kind=kind, actor=actor, reason=reason)
    drill.refresh_from_db()
    return drill


def test_intact_backup__drill_passes_and_leaves_evidence_and_report(target, make_user,
                                                                    django_capture_on_commit_callbacks):
    admin_user = make_user("mia", "Maintenance admin")
    backup = services.take_backup(target=target, actor=admin_user, reason="before the drill")
    assert backup.status == "succeeded", backup.error
    assert (backup.tables, backup.rows) == (4, 750)
    assert Path(backup.path).is_file() and Path(backup.manifest_path).is_file()

    drill = _request_and_run(target, admin_user, django_capture_on_commit_callbacks)

    assert drill.status == "passed", drill.report_markdown
    assert drill.backup == backup
    assert {v["layer"]: v["status"] for v in drill.verdicts} == dict.fromkeys(
        ["integrity", "restore", "row_counts", "checksums", "smoke_queries", "recovery_time"], "pass")
    assert {"integrity", "restore", "cleanup"} <= {p["name"] for p in drill.phases}
    assert drill.objective == "critical" and drill.objective_seconds == 900
    assert 0 < drill.recovery_seconds <= drill.total_seconds < drill.objective_seconds
    assert drill.started_at <= drill.finished_at
    assert drill.evidence["shadow_dropped"] is True
    assert drill.evidence["shadow_database"].startswith("gov_rec2_shadow_")
    assert drill.report_markdown.startswith("# Restore drill PASSED: gov_rec2_src")
    assert f"Requested by mia at {drill.requested_at.isoformat()}: quarterly check" in drill.report_markdown
    assert (drill.requested_by, drill.reason) == (admin_user, "quarterly check")


def test_damaged_backup_file__drill_fails_naming_the_file(target, system_user, django_capture_on_commit_callbacks):
    backup = services.take_backup(target=target, actor=system_user, reason="nightly")
    data = bytearray(Path(backup.path).read_bytes())
    data[len(data) // 2] ^= 0x01
    Path(backup.path).write_bytes(bytes(data))

    drill = _request_and_run(target, system_user, django_capture_on_commit_callbacks)

    assert drill.status == "failed"
    integrity = next(v for v in drill.verdicts if v["layer"] == "integrity")
    assert integrity["status"] == "fail"
    assert any(backup.path in p and "sha256" in p for p in integrity["problems"])
    assert {v["layer"] for v in drill.failing_verdicts()} == {"integrity"}
    assert backup.path in drill.report_markdown and "# Restore drill FAILED" in drill.report_markdown


def test_engine_exception__still_leaves_a_failed_drill_with_the_error(target, system_user, dr_settings,
                                                                     django_capture_on_commit_callbacks):
    services.take_backup(target=target, actor=system_user, reason="nightly")
    dr_settings.DR_SHADOW_PREFIX = "Not A Valid Prefix!"  # the engine refuses it with ValueError

    drill = _request_and_run(target, system_user, django_capture_on_commit_callbacks)

    assert drill.status == "failed"
    assert drill.finished_at is not None
    assert "the drill engine failed: ValueError" in drill.error and "Not A Valid Prefix!" in drill.error
    assert [(v["layer"], v["status"]) for v in drill.verdicts] == [("engine", "fail")]
    assert "# Restore drill FAILED: target shop-db" in drill.report_markdown


def test_drill_of_a_target_without_backups__fails_saying_so(target, system_user, django_capture_on_commit_callbacks):
    drill = _request_and_run(target, system_user, django_capture_on_commit_callbacks)

    assert drill.status == "failed"
    assert drill.verdicts[0]["layer"] == "backup"
    assert "no backup of target 'shop-db' to restore" in drill.error


def test_second_drill_while_one_holds_the_target_lock__is_recorded_as_skipped(target, system_user,
                                                                              django_capture_on_commit_callbacks):
    services.take_backup(target=target, actor=system_user, reason="nightly")
    # Another worker (its own session) is running a drill of this target: it holds the advisory lock.
    from django.db import connection

    with psycopg.connect(services.portal_dsn(connection.settings_dict["NAME"]), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (lock_key(f"{services.DRILL_LOCK}:{target.pk}"),))
        drill = _request_and_run(target, system_user, django_capture_on_commit_callbacks)

    assert drill.status == "failed"
    assert drill.error.startswith("skipped: another drill of target 'shop-db' is running")
    assert drill.verdicts[0]["layer"] == "lock"
    assert drill.backup is None  # it never got as far as choosing a backup


def test_drill_rerun_of_a_finished_drill__changes_nothing(target, system_user, django_capture_on_commit_callbacks):
    drill = _request_and_run(target, system_user, django_capture_on_commit_callbacks)
    finished_at = drill.finished_at

    again = services.run_drill(drill=drill)  # a re-delivered task

    assert (again.status, again.finished_at) == ("failed", finished_at)


def test_evidence_rows__cannot_be_deleted(target, system_user):
    from django.core.exceptions import ValidationError

    backup = services.take_backup(target=target, actor=system_user, reason="nightly")
    with pytest.raises(ValidationError):
        backup.delete()
    with pytest.raises(ValidationError):
        Backup.objects.filter(pk=backup.pk).delete()
    with pytest.raises(ValidationError):
        Drill.objects.all().delete()


def test_target_dsn_env_unset__backup_fails_naming_the_variable_not_the_dsn(target, system_user, monkeypatch,
                                                                            src_db):
    monkeypatch.delenv("GOV_REC2_SRC_DSN")

    backup = services.take_backup(target=target, actor=system_user, reason="nightly")

    assert backup.status == "failed"
    assert "GOV_REC2_SRC_DSN" in backup.error and "is not set" in backup.error
    assert ADMIN_DSN not in backup.error
