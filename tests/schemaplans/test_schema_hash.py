"""`manage.py schema_hash`: the same migrations give the same hash; any change to them gives another."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import ROOT

SOURCE = Path(__file__).parent / "migration_sets" / "hash_a"


def schema_hash(*args: str) -> str:
    out = StringIO()
    call_command("schema_hash", *args, stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def migrations_dir(tmp_path, monkeypatch, lintapp) -> Path:
    """A writable copy of a migration set, installed as lintapp's migrations."""
    package = f"hashmig_{uuid.uuid4().hex[:8]}"
    target = tmp_path / package
    shutil.copytree(SOURCE, target)
    monkeypatch.syspath_prepend(str(tmp_path))
    lintapp(module=package)
    return target


def changed(directory: Path) -> str:
    importlib.invalidate_caches()  # the import system caches directory listings
    assert (directory / "__init__.py").exists()
    return schema_hash("lintapp")


def test_same_code__same_hash_in_every_process(db):
    first = schema_hash()
    again = subprocess.run([sys.executable, "manage.py", "schema_hash"], cwd=ROOT, capture_output=True, text=True,
                           timeout=60, check=True).stdout.strip()
    assert first == again
    assert len(first) == 64 and int(first, 16) >= 0


def test_json__lists_each_migration_digest(db):
    out = StringIO()
    call_command("schema_hash", "governance", "--format", "json", stdout=out)
    report = json.loads(out.getvalue())
    on_disk = sorted(p.stem for p in (ROOT / "governance" / "migrations").glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert [(m["app"], m["migration"]) for m in report["migrations"]] == [("governance", name) for name in on_disk]
    assert on_disk[:2] == ["0001_initial", "0002_roles_environments_cache"]
    assert report["schema_hash"] == schema_hash("governance")


def test_edited_migration__changes_the_hash(db, migrations_dir):
    before = changed(migrations_dir)
    path = migrations_dir / "0002_add_total.py"
    path.write_text(path.read_text().replace("null=True", "null=True, db_index=True"))
    assert changed(migrations_dir) != before


def test_added_or_renamed_migration__changes_the_hash(db, migrations_dir):
    before = changed(migrations_dir)
    (migrations_dir / "0002_add_total.py").rename(migrations_dir / "0002_add_total_column.py")
    renamed = changed(migrations_dir)
    assert renamed != before
    (migrations_dir / "0003_noop.py").write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        "    dependencies = [('lintapp', '0002_add_total_column')]\n    operations: list = []\n"
    )
    assert changed(migrations_dir) not in (before, renamed)


def test_line_ends_and_trailing_blanks__do_not_change_the_hash(db, migrations_dir):
    before = changed(migrations_dir)
    path = migrations_dir / "0002_add_total.py"
    path.write_bytes(path.read_bytes().replace(b"\n", b"  \r\n") + b"\r\n\r\n")
    assert changed(migrations_dir) == before


def test_other_apps__do_not_change_an_apps_hash(db, migrations_dir):
    assert schema_hash("governance") != schema_hash()
    assert schema_hash("governance") == schema_hash("governance")


def test_unknown_app__is_a_usage_error(db):
    with pytest.raises(CommandError, match="no installed app with label 'nope'"):
        call_command("schema_hash", "nope")
