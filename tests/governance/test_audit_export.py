"""The hash-chained export, and the verifier naming the first tampered line (the trailer: test_audit_offline_verify)."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from governance import services


@pytest.fixture
def exported(tmp_path, operator, system_user):
    service = services.create_service(slug="shop", name="Shop", actor=system_user, reason="export fixture")
    # From here on: other apps' SERVICE_CREATED hooks (default SLOs, built-in flags) add records above.
    since = timezone.now()
    service.name = "Shop (renamed)"
    services.save_audited(instance=service, actor=system_user, reason="rename", update_fields=["name"])
    for i in range(4):
        service.owners = f"team-{i}"
        services.save_audited(instance=service, actor=operator, reason=f"owner change {i}", update_fields=["owners"])
    path = tmp_path / "audit.jsonl"
    call_command("export_audit", output=str(path), since=since.isoformat())
    return path


def _lines(path):
    return path.read_text().splitlines(keepends=True)


def test_export__chains_every_record(exported, capsys):
    *lines, trailer = [json.loads(x) for x in _lines(exported)]
    assert len(lines) == 5  # rename + 4 owner changes
    assert trailer["type"] == "audit-trailer" and trailer["record_count"] == 5
    assert lines[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(lines, lines[1:], strict=False))
    assert lines[-1]["reason"] == "owner change 3" and lines[-1]["actor"] == "olga"
    call_command("verify_audit", str(exported))
    out = capsys.readouterr().out
    assert "OK: 5 records" in out and "signed trailer of export" in out


def _verify_fails(path) -> str:
    with pytest.raises(CommandError) as exc:
        call_command("verify_audit", str(path))
    return str(exc.value)


def test_edited_line__is_named(exported):
    lines = _lines(exported)
    lines[2] = lines[2].replace("owner change 1", "owner change X")
    exported.write_text("".join(lines))
    assert "line 3: content does not match its hash" in _verify_fails(exported)


def test_removed_line__is_named(exported):
    lines = _lines(exported)
    del lines[1]
    exported.write_text("".join(lines))
    assert "line 2: expected record 2, found 3: a record was removed" in _verify_fails(exported)


def test_reordered_lines__are_named(exported):
    lines = _lines(exported)
    lines[1], lines[2] = lines[2], lines[1]
    exported.write_text("".join(lines))
    assert "line 2: expected record 2, found 3" in _verify_fails(exported)


def test_inserted_line__is_named(exported):
    lines = _lines(exported)
    lines.insert(3, lines[1])
    exported.write_text("".join(lines))
    assert "line 4: expected record 4, found 2" in _verify_fails(exported)


def test_api_export__needs_audit_read_and_filters_by_date(api, make_token, exported):
    secret = make_token("audit:read")
    response = api(secret).get("/api/v1/audit/export", {"since": "2000-01-01T00:00:00Z"})
    body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert len(body.splitlines()) >= 6
    future = api(secret).get("/api/v1/audit/export", {"since": "2999-01-01T00:00:00Z"})
    only = json.loads(b"".join(future.streaming_content))  # the trailer alone: an empty export still proves itself
    assert only["type"] == "audit-trailer" and only["record_count"] == 0


def test_api_export__rejects_a_bad_range_with_400(api, make_token, db):
    secret = make_token("audit:read")
    response = api(secret).get("/api/v1/audit/export", {"since": "2025-02-01T00:00:00Z",
                                                        "until": "2025-01-01T00:00:00Z"})
    assert response.status_code == 400
    assert "until" in response.json()["errors"]
    bad = api(secret).get("/api/v1/audit/export", {"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()["errors"]


@pytest.mark.parametrize("options, message", [
    ({"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}, "after its start"),
    ({"since": "2025-02-30T00:00:00"}, "not an ISO 8601"),  # well formed, no such day
])
def test_command__refuses_a_bad_range_or_date_with_a_message_and_writes_no_file(tmp_path, db, options, message):
    path = tmp_path / "audit.jsonl"
    with pytest.raises(CommandError, match=message):
        call_command("export_audit", output=str(path), **options)
    assert not path.exists()


def test_command__names_an_output_it_cannot_write(tmp_path, db):
    with pytest.raises(CommandError, match="cannot write"):
        call_command("export_audit", output=str(tmp_path / "missing-dir" / "audit.jsonl"))


@pytest.mark.parametrize("tamper", [
    lambda line: line.encode()[:20] + b"\xff\xfe" + line.encode()[22:],  # bytes that are not UTF-8
    lambda line: json.dumps({**json.loads(line), "prev_hash": 5}).encode() + b"\n",  # a hash that is no text
    lambda line: json.dumps({**json.loads(line), "reason": "\ud800"}).encode() + b"\n",  # a lone surrogate
])
def test_verify__names_a_line_tampered_into_something_odd(exported, tamper):
    lines = exported.read_bytes().splitlines(keepends=True)
    lines[2] = tamper(lines[2].decode())
    exported.write_bytes(b"".join(lines))
    with pytest.raises(CommandError, match="line 3: "):
        call_command("verify_audit", str(exported))
