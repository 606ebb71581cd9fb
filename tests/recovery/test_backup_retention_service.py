"""Backups through the service: retention deletes the files it no longer keeps and marks their rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from recovery import services
from recovery.models import Backup


def test_backup_after_policy_narrowed__deletes_old_files_and_marks_rows(target, system_user, make_user):
    mia = make_user("mia", "Maintenance admin")
    # Arrange the past: a backup taken 40 days ago and one 2 days ago (evidence rows are not audited models).
    backups = []
    for days_ago in (40, 2, 0):
        backup = services.take_backup(target=target, actor=system_user, reason="nightly")
        Backup.objects.filter(pk=backup.pk).update(created_at=backup.created_at - timedelta(days=days_ago))
        backups.append(backup)
    old, two_days, today = backups
    assert not Backup.objects.filter(deleted_at__isnull=False).exists()  # the default policy kept all three
    target = services.update_backup_target(target=target, keep_daily=2, keep_monthly=0, actor=mia,
                                           reason="disk is filling up")

    newest = services.take_backup(target=target, actor=mia, reason="manual backup")

    rows = {b.pk: b for b in Backup.objects.filter(target=target)}
    assert {pk for pk, b in rows.items() if b.deleted_at is None} == {newest.pk, two_days.pk}
    for gone in (old, today):
        assert rows[gone.pk].deleted_at is not None
        assert rows[gone.pk].deleted_reason.startswith(f"retention after backup #{newest.pk}: manual backup")
        assert not Path(gone.path).exists() and not Path(gone.manifest_path).exists()
    for kept in (newest, two_days):
        assert Path(kept.path).is_file() and Path(kept.manifest_path).is_file()
    record = target.history.latest()
    assert (record.history_user, record.history_change_reason) == (mia, "disk is filling up")


def test_backup__records_who_why_digest_and_manifest(target, make_user):
    mia = make_user("mia", "Maintenance admin")

    backup = services.take_backup(target=target, actor=mia, reason="before the schema change")

    assert (backup.created_by, backup.reason, backup.status) == (mia, "before the schema change", "succeeded")
    assert backup.manifest["dump"]["sha256"] == backup.sha256 and len(backup.sha256) == 64
    assert backup.size_bytes == Path(backup.path).stat().st_size
    assert {p["name"] for p in backup.phases} >= {"snapshot", "manifest", "dump", "sha256"}


def test_target_with_a_dsn_instead_of_a_variable_name__is_refused(system_user, tmp_path):
    import pytest
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.create_backup_target(name="bad", dsn_env="host=db1 password=hunter2", directory=str(tmp_path),
                                      actor=system_user, reason="test")
    assert "dsn_env" in exc.value.message_dict


def test_target_with_malformed_smoke_queries__is_refused(system_user, tmp_path):
    import pytest
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.create_backup_target(name="bad", directory=str(tmp_path), smoke_queries=[{"sql": "SELECT 1"}],
                                      actor=system_user, reason="test")
    assert "smoke_queries" in exc.value.message_dict


def test_target_without_dsn_variable__backs_up_the_portals_own_database(dr_settings, system_user, tmp_path):
    from django.db import connection

    target = services.create_backup_target(name="portal", directory=str(tmp_path / "portal"), actor=system_user,
                                           reason="the portal's own data")

    backup = services.take_backup(target=target, actor=system_user, reason="nightly")

    assert backup.status == "succeeded", backup.error
    assert backup.manifest["database"] == connection.settings_dict["NAME"]
    assert any(t["name"] == "recovery_backuptarget" for t in backup.manifest["tables"])
