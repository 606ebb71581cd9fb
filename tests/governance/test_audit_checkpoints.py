"""Signed checkpoints of the chain head: an auditor proves an export holds everything up to one."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule
from govctl.cli import main

from governance import audit_exports, services, tasks
from governance.models import AuditCheckpoint, AuditEvent
from governance.schedules import ensure_schedules
from tests.governance.audit_files import write_keys


def _checkpoint(system_user, tmp_path, name="checkpoint.json"):
    # `now` one margin ahead: the checkpoint covers every event written so far, and none written after it
    now = timezone.now() + timedelta(seconds=settings.AUDIT_CHECKPOINT_MARGIN_SECONDS)
    checkpoint = audit_exports.record_audit_checkpoint(actor=system_user, reason="test checkpoint", now=now)
    assert checkpoint is not None
    path = tmp_path / name
    path.write_text(json.dumps(checkpoint.document))
    return checkpoint, path


def _full_export(tmp_path, name="full.jsonl", **options):
    path = tmp_path / name
    call_command("export_audit", output=str(path), **options)
    return path


def _verify(capsys, *args):
    code = main(["audit", "verify", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _rename(service, actor, name):
    service.name = name
    services.save_audited(instance=service, actor=actor, reason=f"rename to {name}", update_fields=["name"])


def test_full_export__covers_the_latest_checkpoint(service, operator, system_user, tmp_path, capsys):
    _rename(service, operator, "Shop 1")
    checkpoint, cp_path = _checkpoint(system_user, tmp_path)
    assert checkpoint.record_count == AuditEvent.objects.count()
    export = _full_export(tmp_path)
    code, out = _verify(capsys, export, "--public-key", write_keys(tmp_path), "--checkpoint", cp_path)
    assert code == 0 and f"covers checkpoint {checkpoint.pk}" in out
    call_command("verify_audit", str(export), checkpoint=str(cp_path))


def test_checkpoints__continue_the_chain_and_a_later_full_export_covers_each(service, operator, system_user,
                                                                             tmp_path, capsys):
    _rename(service, operator, "Shop 1")
    first, first_path = _checkpoint(system_user, tmp_path, "first.json")
    _rename(service, operator, "Shop 2")
    second = audit_exports.record_audit_checkpoint(actor=system_user, reason="test",
                                                   now=timezone.now() + timedelta(seconds=600))
    assert second is not None
    assert second.record_count == first.record_count + 1
    second_path = tmp_path / "second.json"
    second_path.write_text(json.dumps(second.document))
    export, keys = _full_export(tmp_path), write_keys(tmp_path)
    for path in (first_path, second_path):
        assert _verify(capsys, export, "--public-key", keys, "--checkpoint", path)[0] == 0


def test_event_deleted_from_the_database_after_a_checkpoint__fresh_exports_fail_it(service, operator, system_user,
                                                                                   tmp_path, capsys):
    _rename(service, operator, "Shop 1")
    _, cp_path = _checkpoint(system_user, tmp_path)
    AuditEvent.objects.filter(reason="rename to Shop 1").delete()  # someone with database access hides a change
    _rename(service, operator, "Shop 2")  # the export still has as many records as the checkpoint counts
    export = _full_export(tmp_path)
    code, out = _verify(capsys, export, "--public-key", write_keys(tmp_path), "--checkpoint", cp_path)
    assert code == 1 and "checkpoint: record" in out and "not the trail the portal checkpointed" in out


def test_filtered_or_short_exports__cannot_cover_a_checkpoint(service, operator, system_user, tmp_path, capsys):
    _rename(service, operator, "Shop 1")
    _, cp_path = _checkpoint(system_user, tmp_path)
    keys = write_keys(tmp_path)
    filtered = _full_export(tmp_path, "filtered.jsonl", service="shop")
    code, out = _verify(capsys, filtered, "--public-key", keys, "--checkpoint", cp_path)
    assert code == 1 and "the export is filtered (service)" in out
    early = _full_export(tmp_path, "early.jsonl", until=(timezone.now() - timedelta(days=1)).isoformat())
    code, out = _verify(capsys, early, "--public-key", keys, "--checkpoint", cp_path)
    assert code == 1 and "the export misses records" in out


def test_edited_checkpoint__fails_its_signature(service, operator, system_user, tmp_path, capsys):
    _rename(service, operator, "Shop 1")
    _, cp_path = _checkpoint(system_user, tmp_path)
    document = json.loads(cp_path.read_text())
    cp_path.write_text(json.dumps({**document, "record_count": document["record_count"] - 1}))
    code, out = _verify(capsys, _full_export(tmp_path), "--public-key", write_keys(tmp_path), "--checkpoint", cp_path)
    assert code == 1 and "checkpoint: bad signature" in out
    with pytest.raises(CommandError, match="checkpoint: bad signature"):
        call_command("verify_audit", str(_full_export(tmp_path, "again.jsonl")), checkpoint=str(cp_path))


def test_checkpoint_within_the_margin__is_not_recorded_twice(system_user, db):
    now = timezone.now()
    assert audit_exports.record_audit_checkpoint(actor=system_user, reason="t", now=now) is not None
    assert audit_exports.record_audit_checkpoint(actor=system_user, reason="t", now=now) is None


def test_schedule__is_declared_hourly_and_its_task_records_a_checkpoint(db):
    ensure_schedules()
    schedule = Schedule.objects.get(name="core: audit checkpoint")
    assert schedule.func == "governance.tasks.record_audit_checkpoint" and schedule.schedule_type == "H"
    assert "records up to" in tasks.record_audit_checkpoint()
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.document["signed_by"] == "system"
    assert checkpoint.document["reason"] == "scheduled audit checkpoint"


def test_latest_checkpoint_api__serves_the_signed_document_to_unrestricted_tokens(api, make_token, service,
                                                                                 system_user, tmp_path):
    secret = make_token("audit:read")
    assert api(secret).get("/api/v1/audit/checkpoints/latest").status_code == 404
    checkpoint, _ = _checkpoint(system_user, tmp_path)
    response = api(secret).get("/api/v1/audit/checkpoints/latest")
    assert response.status_code == 200 and response.json() == checkpoint.document
    restricted = make_token("audit:read", services_=[service], name="shop auditor")
    assert api(restricted).get("/api/v1/audit/checkpoints/latest").status_code == 403

