"""`manage.py lint_migrations`: the project passes; bad Django migrations fail with the rule that explains why."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import ROOT


def lint(*args: str) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("lint_migrations", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def findings(output: str) -> dict[str, set[str]]:
    report = json.loads(output)
    return {f["name"]: {x["rule"] for x in f["findings"] if x["severity"] == "error"} for f in report["files"]}


def test_project_migrations__pass(db):
    # A real process, as CI runs it.
    result = subprocess.run([sys.executable, "manage.py", "lint_migrations"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("0 error(s)")


def test_project_migrations__json_lists_each_with_its_phase(db):
    code, out = lint("--format", "json")
    report = json.loads(out)
    assert (code, report["ok"], report["errors"]) == (0, True, 0)
    phases = {m["name"]: m["phase"] for m in report["migrations"]}
    assert phases["governance.0001_initial"] == "expand"  # CreateModel of new tables
    assert phases["governance.0002_roles_environments_cache"] == "neutral"  # RunPython only


def test_safe_expand_backfill_contract_sequence__passes(db, lintapp):
    lintapp("good")
    code, out = lint("lintapp", "--format", "json")
    report = json.loads(out)
    assert code == 0, out
    assert report["migrations"] == [
        {"name": "lintapp.0001_initial", "phase": "expand", "plan": None},
        {"name": "lintapp.0002_add_total", "phase": "expand", "plan": None},
        {"name": "lintapp.0003_backfill_total", "phase": "neutral", "plan": None},
        {"name": "lintapp.0004_add_index_concurrently", "phase": "expand", "plan": None},
        {"name": "lintapp.0005_drop_legacy", "phase": "contract", "plan": "items-legacy"},
    ]


def test_unsafe_migrations__fail_with_the_rule_per_migration(db, lintapp):
    lintapp("bad")
    code, out = lint("lintapp", "--format", "json")
    assert code == 1
    assert findings(out) == {
        "lintapp.0001_initial": set(),  # the index on a table created in the same migration is fine
        "lintapp.0002_index_existing_table": {"create-index-non-concurrently"},  # 0001's table now exists
        "lintapp.0003_add_required_field": {"add-default-then-drop-default"},
        "lintapp.0004_drop_undeclared": {"drop-column-outside-contract", "emc-contract-undeclared"},
        "lintapp.0005_contract_without_plan": {"emc-contract-missing-plan"},
        "lintapp.0006_declared_expand_but_drops": {"emc-phase-mismatch", "drop-table-outside-contract"},
    }


def test_unsafe_migrations__human_output_names_migration_rule_and_fix(db, lintapp):
    lintapp("bad")
    code, out = lint("lintapp")
    assert code == 1
    assert "lintapp.0002_index_existing_table:" in out
    assert "error [create-index-non-concurrently]" in out
    assert "safe: CREATE INDEX CONCURRENTLY" in out
    assert out.strip().endswith("in 6 migration(s)")


def test_disabled_rule__is_not_reported(db, lintapp):
    lintapp("bad")
    _, out = lint("lintapp", "--format", "json", "--disable", "create-index-non-concurrently")
    assert findings(out)["lintapp.0002_index_existing_table"] == set()


def test_merge_migration__is_an_error(db, lintapp):
    lintapp("merge")
    code, out = lint("lintapp", "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert report["problems"] == [
        "lintapp.0003_merge: merge migration (depends on 0002_left, 0002_right); keep one line of migrations per app"
    ]


def test_two_leaves__is_an_error(db, lintapp):
    lintapp("two_leaves")
    code, out = lint("lintapp")
    assert code == 1
    assert "error [linear-history] lintapp: history is not linear: 2 leaf migrations (0002_left, 0002_right)" in out


def test_unknown_app_or_rule__is_a_usage_error(db):
    with pytest.raises(CommandError, match="no installed app with label 'nope'"):
        call_command("lint_migrations", "nope")
    with pytest.raises(CommandError, match="unknown rule id"):
        call_command("lint_migrations", "--disable", "nope")
    with pytest.raises(CommandError, match="argument --database: invalid choice: 'nope'"):
        call_command("lint_migrations", "--database", "nope")
