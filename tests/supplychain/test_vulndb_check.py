"""manage.py vulndb_check --sbom FILE: offline and honest (a missing database is a failure, never all clear)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import call_command

from supplychain import services
from tests.conftest import ROOT
from tests.supplychain.conftest import cyclonedx, osv, write_records


def _check(tmp_path, *purls, fail_on="high", capsys):
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(cyclonedx(*purls)), encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        call_command("vulndb_check", "--sbom", str(path), "--fail-on", fail_on)
        raise SystemExit(0)
    captured = capsys.readouterr()
    return exited.value.code, captured.out + captured.err


def test_empty_database__fails_with_a_clear_message(tmp_path, db, capsys):
    code, text = _check(tmp_path, "pkg:pypi/demo@1.0", capsys=capsys)
    assert code == 1
    assert "database is empty" in text and "not an all-clear" in text


def test_vulnerable_component__fails_and_names_the_advisory(tmp_path, db, capsys):
    services.import_advisories(source=str(write_records(tmp_path / "osv", osv("GHSA-a", "demo", fixed="1.5"))))
    code, text = _check(tmp_path, "pkg:pypi/demo@1.0", "pkg:pypi/fine@1.0", capsys=capsys)
    assert code == 1
    assert "FAIL GHSA-a (critical) in pkg:pypi/demo@1.0; fixed in 1.5" in text
    assert "2 component(s) checked against 1 advisories: 1 finding(s), 1 at or above high" in text


def test_clean_sbom__passes(tmp_path, db, capsys):
    services.import_advisories(source=str(write_records(tmp_path / "osv", osv("GHSA-a", "demo", fixed="1.5"))))
    code, text = _check(tmp_path, "pkg:pypi/demo@1.5", capsys=capsys)
    assert code == 0
    assert "0 finding(s)" in text


def test_finding_below_fail_on__warns_only(tmp_path, db, capsys):
    record = osv("GHSA-low", "demo", severity="CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N")
    services.import_advisories(source=str(write_records(tmp_path / "osv", record)))
    code, text = _check(tmp_path, "pkg:pypi/demo@1.0", capsys=capsys)
    assert code == 0 and "warn GHSA-low (low)" in text


def test_invalid_sbom__exits_2(tmp_path, db):
    path = tmp_path / "bom.json"
    path.write_text('{"bomFormat": "SPDX"}', encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        call_command("vulndb_check", "--sbom", str(path))
    assert exited.value.code == 2


def test_unreachable_database__fails_rather_than_passes(tmp_path):
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(cyclonedx("pkg:pypi/demo@1.0")), encoding="utf-8")
    env = {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "PATH": "/usr/bin:/bin", "PYTHONPATH": "client"}
    done = subprocess.run([sys.executable, "manage.py", "vulndb_check", "--sbom", str(path)], capture_output=True,
                          text=True, env=env, timeout=120, check=False, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    assert "could not be consulted" in done.stderr
