"""Evidence packs: one archive from real data, verified offline; every kind of tampering fails and says what."""

import base64
import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.utils import timezone
from govctl.cli import main

from governance import hooks, services
from governance.models import AuditEvent, AuditExport
from recovery.models import BackupTarget, Drill
from releases import services as releases
from tests.governance.audit_files import write_keys

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def activity(system_user, service, production):
    """A release registered and deployed to production, a passed restore drill with its report, SLO snapshots."""
    start = timezone.now() - timedelta(minutes=1)
    release = releases.register_release(service=service, version="1.4.0", build_sha="c0ffee" + "0" * 34,
                                        actor=system_user, reason="CI registered the build",
                                        commits=[{"sha": "a" * 40, "message": "feat: carts", "author": "Dana",
                                                  "time": "2026-11-30T09:00:00+00:00"}]).release
    releases.report_check(release=release, name="tests", status="success", actor=system_user, reason="CI")
    releases.record_deployment(release=release, environment=production, status="succeeded", actor=system_user,
                               reason="CI deployed 1.4.0")
    target = BackupTarget(name="shop-db", service=service, dsn_env="SHOP_DATABASE_URL", directory="/var/backups/shop")
    services.save_audited(instance=target, actor=system_user, reason="governed database")
    Drill.objects.create(kind="restore", target=target, status="passed", requested_by=system_user,
                         reason="monthly drill", finished_at=timezone.now(), recovery_seconds=42.0,
                         report_markdown="# Restore drill shop-db\n\nPassed: 12 tables, 3400 rows.\n")
    from observability import services as slo_services
    from observability.models import Slo
    slo_services.take_snapshots(slos=Slo.objects.filter(service=service), kind="manual")
    return start, timezone.now() + timedelta(minutes=1)


def _pack(tmp_path, start, end, *extra) -> bytes:
    path = tmp_path / "pack.zip"
    call_command("evidence_pack", "--from", start.isoformat(), "--to", end.isoformat(), "--output", str(path), *extra)
    return path.read_bytes()


def _verify(capsys, tmp_path, data: bytes, *extra: str) -> tuple[int, str]:
    path = tmp_path / "check.zip"
    path.write_bytes(data)
    code = main(["evidence", "verify", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _rewrite(data: bytes, change) -> bytes:
    """The archive with its members passed through change(name, bytes) -> bytes | None (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = change(name, source.read(name))
            if content is not None:
                target.writestr(name, content)
    return out.getvalue()


def test_pack__holds_every_section_and_verifies_offline(activity, tmp_path, capsys, service, other_service,
                                                       system_user):
    start, end = activity
    releases.register_release(service=other_service, version="9.0.0", build_sha="d" * 40, actor=system_user,
                              reason="another service's release")
    events_before = AuditEvent.objects.count()
    data = _pack(tmp_path, start, end, "--service", "shop")
    keys = write_keys(tmp_path)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        release = json.loads(archive.read("releases/shop/1.4.0.json"))
        report = archive.read(next(n for n in names if n.startswith("recovery/drills/") and n.endswith(".md")))
        slo = json.loads(archive.read("slo/snapshots.json"))
    assert {"audit/audit.jsonl", "releases/index.json", "recovery/drills.json", "slo/snapshots.json"} <= names
    assert not any(other_service.slug in name for name in names)  # a service's pack holds only that service
    assert set(manifest["files"]) == names - {"manifest.json"}
    assert manifest["range"] == {"from": start.isoformat(), "to": end.isoformat()}
    assert manifest["service"] == "shop" and manifest["portal_version"] and manifest["generated_at"]
    assert release["evidence_digest"] and release["checks"][0]["status"] == "success"
    assert release["deployments"][0]["environment__slug"] == "production" and "verdict" in json.dumps(
        release["deployments"][0]["gate"])
    assert b"Passed: 12 tables" in report
    assert {s["kind"] for s in slo["snapshots"]} >= {"manual"}

    code, out = _verify(capsys, tmp_path, data, "--public-key", str(keys))
    assert code == 0 and "OK:" in out and "chain intact" in out, out

    # the pack is audited: who, when, range and service; and it wrote nothing else
    record = AuditExport.objects.get()
    assert record.filters["purpose"] == "evidence-pack" and record.filters["service"] == "shop"
    assert (record.since, record.until, record.actor_name) == (start, end, "system")
    assert AuditEvent.objects.count() == events_before


def test_tampering__each_way_fails_and_names_the_file(activity, tmp_path, capsys):
    start, end = activity
    data = _pack(tmp_path, start, end)
    keys = str(write_keys(tmp_path))

    edited = _rewrite(data, lambda n, b: b.replace(b"Passed", b"Failed") if n.endswith(".md") else b)
    code, out = _verify(capsys, tmp_path, edited, "--public-key", keys)
    assert code == 1 and "FAILED (tampered) recovery/drills/" in out and "the file was changed" in out, out

    missing = _rewrite(data, lambda n, b: None if n == "slo/snapshots.json" else b)
    code, out = _verify(capsys, tmp_path, missing, "--public-key", keys)
    assert code == 1 and "FAILED (missing) slo/snapshots.json: is in the signed manifest but not in the archive" in out

    with zipfile.ZipFile(buffer := io.BytesIO(data), "a") as archive:
        archive.writestr("releases/shop/9.9.9.json", b"{}")
    code, out = _verify(capsys, tmp_path, buffer.getvalue(), "--public-key", keys)
    assert code == 1 and "FAILED (extra) releases/shop/9.9.9.json: is in the archive but not in the signed" in out

    def drop_record(name, content):
        if name != "audit/audit.jsonl":
            return content
        lines = content.splitlines(keepends=True)
        return b"".join(lines[:1] + lines[2:])

    def rehash(name, content):  # the audit file cut, and the manifest's hash "fixed" to match: signature breaks
        if name != "manifest.json":
            return drop_record(name, content)
        manifest = json.loads(content)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            fixed = drop_record("audit/audit.jsonl", archive.read("audit/audit.jsonl"))
        manifest["files"]["audit/audit.jsonl"] = {"sha256": hashlib.sha256(fixed).hexdigest(), "size": len(fixed)}
        return json.dumps(manifest).encode()

    code, out = _verify(capsys, tmp_path, _rewrite(data, rehash), "--public-key", keys)
    assert code == 3 and "FAILED (signature) manifest.json: the manifest's signature does not hold: bad" in out, out
    assert "FAILED (audit-chain) audit/audit.jsonl" in out

    other = tmp_path / "other.pub"
    other.write_text(base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode())
    code, out = _verify(capsys, tmp_path, data, "--public-key", str(other))
    assert code == 3 and "which is not a key you trust" in out

    code, out = _verify(capsys, tmp_path, data)
    assert code == 2 and "give a key you trust" in out
    code, out = _verify(capsys, tmp_path, b"not a zip", "--public-key", keys)
    assert code == 1 and "not a readable zip archive" in out


def test_pack__a_section_that_writes_fails_the_pack_and_records_nothing(activity, tmp_path, system_user):
    start, end = activity

    def writer(*, start, end, service):
        sneaky = BackupTarget(name="sneaky", dsn_env="X", directory="/var/backups/sneaky")
        services.save_audited(instance=sneaky, actor=system_user, reason="a section must not write")
        return {}

    hooks.EVIDENCE_SECTIONS["zz-writer"] = writer
    try:
        with pytest.raises(CommandError, match="section 'zz-writer' failed: .*read-only transaction"):
            _pack(tmp_path, start, end)
    finally:
        del hooks.EVIDENCE_SECTIONS["zz-writer"]
    assert not AuditExport.objects.exists() and not BackupTarget.objects.filter(name="sneaky").exists()
    assert not (tmp_path / "pack.zip").exists() and list(tmp_path.glob(".pack.zip.*")) == []


@pytest.mark.parametrize("args, problem", [
    (["--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z"], "end of the range must be after"),
    (["--from", "yesterday", "--to", "2026-01-01T00:00:00Z"], "not an ISO 8601 date-time"),
    (["--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z", "--service", "nope"], "no service 'nope'"),
])
def test_command__refuses_bad_input_without_writing(args, problem, tmp_path, system_user):
    with pytest.raises(CommandError, match=problem):
        call_command("evidence_pack", *args, "--output", str(tmp_path / "p.zip"))
    assert not AuditExport.objects.exists() and not (tmp_path / "p.zip").exists()


PACK = "admin:governance_auditevent_evidence_pack"


def test_admin__an_auditor_downloads_a_pack_that_verifies_and_an_operator_cannot(activity, client, auditor, operator):
    from django.urls import reverse
    from govctl.audit import audit_proof, evidence_pack

    from governance import audit_exports

    start, end = activity
    client.force_login(operator)
    assert client.get(reverse(PACK)).status_code == 403
    client.force_login(auditor)
    assert reverse(PACK).encode() in client.get(reverse("admin:governance_auditevent_changelist")).content
    bad = client.post(reverse(PACK), {"start": end.isoformat(), "end": start.isoformat()})
    assert bad.status_code == 400 and b"must be after its start" in bad.content
    response = client.post(reverse(PACK), {"start": start.strftime("%Y-%m-%d %H:%M:%S"),
                                           "end": end.strftime("%Y-%m-%d %H:%M:%S"), "service": "shop"})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "evidence-shop-" in response["Content-Disposition"] and "no-store" in response["Cache-Control"]
    keys = {k["key_id"]: audit_proof.load_public_key(k["public_key"]) for k in audit_exports.published_keys()}
    chunks = list(response.streaming_content)
    assert len(chunks) > 3  # streamed as it is built: one chunk per section file at least
    result = evidence_pack.verify_pack(b"".join(chunks), keys=keys)
    assert result.ok and result.manifest is not None, result.summary()
    assert result.manifest["generated_by"] == "audrey" and result.manifest["service"] == "shop"
    assert AuditExport.objects.get().actor_name == "audrey"


@pytest.mark.parametrize("bad", ["../escape.json", "/abs.json", "a//b.json", "a\\b.json", ""])
def test_section__a_file_name_outside_its_folder_fails_the_pack(bad, tmp_path):
    hooks.EVIDENCE_SECTIONS["zz-paths"] = lambda **_: {bad: b"{}"}
    now = timezone.now()
    try:
        with pytest.raises(CommandError, match="section 'zz-paths' returned a bad file name"):
            _pack(tmp_path, now - timedelta(hours=1), now)
    finally:
        del hooks.EVIDENCE_SECTIONS["zz-paths"]
    assert not AuditExport.objects.exists()


def test_admin__the_pack_shows_in_the_audit_exports_list_as_an_evidence_pack(activity, client, auditor, tmp_path):
    from django.urls import reverse

    start, end = activity
    _pack(tmp_path, start, end, "--service", "shop")
    client.force_login(auditor)
    page = client.get(reverse("admin:governance_auditexport_changelist")).content.decode()
    assert "evidence-pack" in page and ">shop<" in page
