"""`govctl audit verify`: an export proves its own completeness offline, against a key the auditor trusts."""

import base64
import json
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from govctl.audit import audit_chain, audit_proof
from govctl.cli import main

from governance import audit_signing
from tests.conftest import ROOT
from tests.governance.audit_files import make_small_export, read, write, write_keys


@pytest.fixture
def exported(tmp_path, operator, system_user):
    return make_small_export(tmp_path, operator, system_user)


@pytest.fixture
def keys(tmp_path, exported):
    return write_keys(tmp_path)


def _verify(capsys, path, *extra) -> tuple[int, str]:
    code = main(["audit", "verify", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_untouched_export__verifies_with_the_published_keys_and_with_a_pinned_key_id(exported, keys, capsys):
    code, out = _verify(capsys, exported, "--public-key", str(keys))
    assert code == 0 and "OK: 5 records" in out
    pinned = audit_proof.key_id(audit_signing.public_key())
    code, out = _verify(capsys, exported, "--key-id", pinned)
    assert code == 0 and f"key {pinned}" in out


def test_export_cut_at_any_line__fails_and_names_the_line(exported, keys, tmp_path, capsys):
    lines = exported.read_text().splitlines(keepends=True)
    assert len(lines) == 6
    cut = tmp_path / "cut.jsonl"
    for keep in range(len(lines)):  # 0 lines (empty file) … every record but no trailer
        cut.write_text("".join(lines[:keep]))
        code, out = _verify(capsys, cut, "--public-key", str(keys))
        assert code == 1, (keep, out)
        expected = "line 1: empty file" if keep == 0 else f"line {keep + 1}: missing trailer: the export was cut off"
        assert expected in out, (keep, out)
    cut.write_text("".join(lines[:3]) + lines[3][:40])  # cut inside a line
    code, out = _verify(capsys, cut, "--public-key", str(keys))
    assert code == 1 and "line 4: not valid JSON" in out


def test_last_records_removed_and_trailer_kept__fails_on_the_count(exported, keys, capsys):
    entries = read(exported)
    write(exported, [*entries[:3], entries[-1]])
    code, out = _verify(capsys, exported, "--public-key", str(keys))
    assert code == 1
    assert "line 4: the signed trailer counts 5 records, the file has 3: records were removed" in out


def test_rechained_file__fails_on_the_head_hash_and_a_rewritten_trailer_on_its_signature(exported, keys, capsys):
    *records, trailer = read(exported)
    bodies = [{k: v for k, v in r.items() if k not in ("seq", "prev_hash", "hash")} for r in records]
    bodies[2]["reason"] = "nothing to see here"
    rechained = list(audit_chain.chain(bodies))
    write(exported, [*rechained, trailer])
    code, out = _verify(capsys, exported, "--public-key", str(keys))
    assert code == 1 and "line 6: the records do not match the signed trailer's head hash" in out
    assert "re-chained" in out
    forged = {**trailer, "head_hash": rechained[-1]["hash"], "last": {**trailer["last"], "hash": rechained[-1]["hash"]}}
    write(exported, [*rechained, forged])
    code, out = _verify(capsys, exported, "--public-key", str(keys))
    assert code == 1 and "line 6: trailer bad signature" in out


def test_signature_swapped_from_another_export__fails(exported, keys, tmp_path, operator, system_user, capsys):
    from django.utils import timezone

    other = tmp_path / "other.jsonl"
    call_command("export_audit", output=str(other), since=timezone.now().isoformat())
    *records, trailer = read(exported)
    write(exported, [*records, {**trailer, "signature": read(other)[-1]["signature"]}])
    code, out = _verify(capsys, exported, "--public-key", str(keys))
    assert code == 1 and "line 6: trailer bad signature" in out


def test_trailer_signed_by_another_key__fails_as_untrusted_or_as_a_bad_signature(exported, keys, capsys):
    *records, trailer = read(exported)
    unsigned = {k: v for k, v in trailer.items() if k not in ("signature", "key_id", "public_key", "algorithm")}
    stranger = audit_proof.sign(unsigned, Ed25519PrivateKey.generate())
    write(exported, [*records, stranger])
    code, out = _verify(capsys, exported, "--public-key", str(keys))
    assert code == 1 and f"signed by key '{stranger['key_id']}', which is not a key you trust" in out
    code, out = _verify(capsys, exported, "--key-id", trailer["key_id"])  # the pinned key is not the signer
    assert code == 1 and "not the pinned key" in out
    # The stranger claims the portal's key id and public key: the signature does not match that key.
    impostor = {**stranger, "key_id": trailer["key_id"], "public_key": trailer["public_key"]}
    write(exported, [*records, impostor])
    code, out = _verify(capsys, exported, "--key-id", trailer["key_id"])
    assert code == 1 and "trailer bad signature" in out


def test_trailer_with_its_own_key_and_a_forged_key_id__fails_against_the_pin(exported, capsys):
    *records, trailer = read(exported)
    forger = Ed25519PrivateKey.generate()
    forged = audit_proof.sign({k: v for k, v in trailer.items() if k != "signature"}, forger)
    forged = {**forged, "key_id": trailer["key_id"]}  # carries the forger's public key under the portal's id
    write(exported, [*records, forged])
    code, out = _verify(capsys, exported, "--key-id", trailer["key_id"])
    assert code == 1 and "does not hash to the pinned id" in out


def test_lines_appended_after_the_trailer__fail(exported, keys, capsys):
    entries = read(exported)
    write(exported, [*entries, entries[1]])
    code, out = _verify(capsys, exported, "--public-key", str(keys))
    assert code == 1 and "line 6: a trailer before the end of the file" in out


def test_no_trusted_key_or_unreadable_files__are_usage_errors(exported, tmp_path, capsys):
    code, out = _verify(capsys, exported)
    assert code == 2 and "give a key you trust" in out
    code, out = _verify(capsys, tmp_path / "missing.jsonl", "--key-id", "0" * 32)
    assert code == 2 and "cannot read the export" in out
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text(base64.b64encode(b"short").decode())
    code, out = _verify(capsys, exported, "--public-key", str(bad_key))
    assert code == 2 and "32 bytes" in out
    code, out = _verify(capsys, exported, "--key-id", "not-hex")
    assert code == 2 and "32 hex digits" in out


def test_verify_audit_command__uses_the_same_checks(exported):
    entries = read(exported)
    write(exported, entries[:-1])
    with pytest.raises(CommandError, match="line 6: missing trailer"):
        call_command("verify_audit", str(exported))


def test_verify_after_a_key_rotation__old_exports_still_verify(exported, tmp_path, settings, capsys):
    old_keys = write_keys(tmp_path, "before-rotation.json")
    settings.AUDIT_SIGNING_KEY = base64.b64encode(os.urandom(32)).decode()
    audit_signing.private_key()  # the new key is current
    newer = tmp_path / "newer.jsonl"
    call_command("export_audit", output=str(newer))
    published = write_keys(tmp_path)
    statuses = {k["status"] for k in json.loads(published.read_text())["keys"]}
    assert statuses == {"current", "retired"}
    assert _verify(capsys, exported, "--public-key", str(published))[0] == 0
    assert _verify(capsys, newer, "--public-key", str(published))[0] == 0
    code, out = _verify(capsys, newer, "--public-key", str(old_keys))
    assert code == 1 and "not a key you trust" in out
    call_command("verify_audit", str(exported))  # the portal keeps the retired key for its own check


def test_govctl_verify__runs_without_django(exported, keys):
    script = ("import sys; from govctl.cli import main; code = main(sys.argv[1:]); "
              "assert 'django' not in sys.modules, 'django imported'; sys.exit(code)")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env["PYTHONPATH"] = str(ROOT / "client")
    result = subprocess.run([sys.executable, "-c", script, "audit", "verify", str(exported), "--public-key", str(keys)],
                            capture_output=True, text=True, env=env, cwd="/", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "OK: 5 records" in result.stdout
