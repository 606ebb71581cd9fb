"""`govctl migrations lint`'s result cache: a file linted before is answered without parsing or importing pglast.

Run as a real process (as a pre-commit hook calls it); Python's `-X importtime` tells which modules a call
imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from govctl.migration_lint import cache, lint_sql

from tests.releases.corpus import CORPUS

ROOT = Path(__file__).resolve().parents[3]
FAILS = CORPUS / "24_drop_column_outside_contract.sql"


def govctl(*args: str, cache_dir: Path | str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVCTL_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT / "client")}
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "govctl.cli", "migrations", "lint", *args],
                          env=env, capture_output=True, text=True, timeout=60)


def imported_pglast(run: subprocess.CompletedProcess) -> bool:
    modules = [line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")]
    return any(name == "pglast" or name.startswith("pglast.") for name in modules)


def test_a_second_lint_of_the_same_file_is_answered_from_the_cache_without_pglast(tmp_path):
    first = govctl("--format", "json", str(FAILS), cache_dir=tmp_path / "cache")
    assert first.returncode == 1, first.stderr
    assert imported_pglast(first)
    second = govctl("--format", "json", str(FAILS), cache_dir=tmp_path / "cache")
    assert second.returncode == 1, second.stderr
    assert not imported_pglast(second)
    assert json.loads(second.stdout) == json.loads(first.stdout)
    assert json.loads(second.stdout)["files"][0]["errors"] >= 1


def test_other_options_or_other_sql_are_not_answered_from_the_cache(tmp_path):
    sql = tmp_path / "m.sql"
    sql.write_text(FAILS.read_text())
    assert govctl(str(sql), cache_dir=tmp_path / "cache").returncode == 1
    assert not imported_pglast(govctl(str(sql), cache_dir=tmp_path / "cache"))
    other_options = govctl("--pg-version", "12", str(sql), cache_dir=tmp_path / "cache")
    assert other_options.returncode == 1 and imported_pglast(other_options)
    sql.write_text(FAILS.read_text() + "\n-- edited\n")
    edited = govctl(str(sql), cache_dir=tmp_path / "cache")
    assert edited.returncode == 1 and imported_pglast(edited)


def test_no_cache_neither_reads_nor_writes(tmp_path):
    assert govctl("--no-cache", str(FAILS), cache_dir=tmp_path / "cache").returncode == 1
    assert not (tmp_path / "cache").exists()
    assert govctl(str(FAILS), cache_dir="off").returncode == 1


def test_a_damaged_entry_is_ignored_and_replaced(tmp_path):
    sql = FAILS.read_text()
    fresh = lint_sql(sql, name="a.sql", cache=tmp_path)
    entries = list(tmp_path.rglob("*.json"))
    assert len(entries) == 1
    entries[0].write_text("{not json")
    again = lint_sql(sql, name="a.sql", cache=tmp_path)
    assert again == fresh
    assert json.loads(entries[0].read_text())["key"] == entries[0].stem
    renamed = lint_sql(sql, name="b.sql", cache=tmp_path)
    assert renamed.name == "b.sql" and renamed.findings == fresh.findings


def test_the_key_changes_with_the_linter_source(tmp_path, monkeypatch):
    options_key = cache.key("SELECT 1", lint_sql.__globals__["LintOptions"]())
    monkeypatch.setattr(cache, "_linter_fingerprint", lambda: "another linter")
    assert cache.key("SELECT 1", lint_sql.__globals__["LintOptions"]()) != options_key
