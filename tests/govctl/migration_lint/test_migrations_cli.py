"""`govctl migrations lint|check|rules` and `govctl schema hash`, as CI runs them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
from govctl import cli, migration_lint
from govctl.api import GovctlError
from govctl.commands import migrations
from govctl.migration_lint import schema_hash

from tests.releases.corpus import CORPUS

SAFE = CORPUS / "03_add_column_stable_default.sql"
WARNS = CORPUS / "20_widen_varchar.sql"
FAILS = CORPUS / "24_drop_column_outside_contract.sql"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- migrations lint


def test_lint_clean_file__exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrations", "lint", str(SAFE)]) == 0
    assert "0 error(s), 0 warning(s) in 1 file(s)" in capsys.readouterr().out


def test_lint_errors__exit_1_and_show_rule_line_and_safe_alternative(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrations", "lint", str(SAFE), str(FAILS)]) == 1

    out = capsys.readouterr().out
    assert f"{FAILS}:4: error [drop-column-outside-contract]" in out
    assert "sql: ALTER TABLE orders DROP COLUMN legacy_status" in out
    assert "safe: First ship code that no longer uses the column" in out
    assert f"{FAILS}: phase contract (undeclared)" in out
    assert "2 error(s), 0 warning(s) in 2 file(s)" in out


def test_lint_warnings_only__exit_0_unless_strict() -> None:
    assert cli.main(["migrations", "lint", str(WARNS)]) == 0
    assert cli.main(["migrations", "lint", "--strict", str(WARNS)]) == 1


def test_lint_json__lists_findings_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrations", "lint", "--format", "json", str(WARNS), str(FAILS)]) == 1

    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["errors"], report["warnings"]) == (False, 2, 1)
    assert [f["rule"] for f in report["files"][0]["findings"]] == ["change-column-type-widening"]
    assert report["files"][1]["inferred_phase"] == "contract"
    assert report["files"][1]["findings"][0]["safe_alternative"]


def test_lint_disable__skips_the_rule() -> None:
    assert cli.main(["migrations", "lint", "--disable", "change-column-type-widening", "--strict", str(WARNS)]) == 0


def test_lint_disable_unknown_rule__is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrations", "lint", "--disable", "nope", str(SAFE)]) == 2
    assert "unknown rule id(s): nope" in capsys.readouterr().err


def test_lint_tool_options__reach_the_linter(tmp_path: Path) -> None:
    sql = write(tmp_path, "0001.sql", "ALTER TABLE drafts ADD COLUMN total bigint NOT NULL;\n")

    assert cli.main(["migrations", "lint", str(sql)]) == 1
    assert cli.main(["migrations", "lint", "--lock-timeout-set", "--new-table", "drafts", str(sql)]) == 0


def test_lint_missing_file__is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrations", "lint", str(tmp_path / "nope.sql")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_lint_without_pglast__tells_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in ("engine", "ddl", "columns"):
        monkeypatch.delitem(sys.modules, f"govctl.migration_lint.{module}", raising=False)
        monkeypatch.delattr(migration_lint, module, raising=False)
    monkeypatch.setitem(sys.modules, "pglast", None)

    assert cli.main(["migrations", "lint", str(SAFE)]) == 2
    assert "pip install 'govctl[lint]'" in capsys.readouterr().err


def test_rules_json__lists_every_rule_with_squawk_equivalents(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrations", "rules", "--format", "json"]) == 0

    rules = {rule["id"]: rule for rule in json.loads(capsys.readouterr().out)}
    assert set(rules) == set(migration_lint.RULES)
    assert rules["create-index-non-concurrently"]["squawk"] == ["require-concurrent-index-creation"]


# -- migrations check


class Portal:
    """A fake portal answering GET /api/v1/schema-plans/<id> from a dict of plan id -> (status code, body)."""

    def __init__(self, plans: dict[str, tuple[int, dict]]) -> None:
        self.plans = plans
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        prefix = "/api/v1/schema-plans/"
        plan_id = request.url.path.removeprefix(prefix)
        status, body = self.plans.get(plan_id, (404, {"detail": "Not found."}))
        return httpx.Response(status, json=body)


def check(monkeypatch: pytest.MonkeyPatch, portal: Portal, *argv: str) -> int:
    monkeypatch.setenv("GOVERNANCE_URL", "https://portal.test")
    monkeypatch.setenv("GOVERNANCE_TOKEN", "ci-token")
    args = cli.build_parser().parse_args(["migrations", "check", *argv])
    try:
        return migrations.run_check(args, transport=httpx.MockTransport(portal))
    except GovctlError as exc:
        return exc.exit_code


@pytest.mark.parametrize("status", ["verified", "contracted"])
def test_check_plan_done__exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    portal = Portal({"orders-legacy": (200, {"id": "orders-legacy", "status": status})})

    assert check(monkeypatch, portal, "--plan", "orders-legacy") == 0
    assert f"ok   plan orders-legacy: status {status}" in capsys.readouterr().out
    assert portal.requests[0].headers["Authorization"] == "Bearer ci-token"
    assert portal.requests[0].url == "https://portal.test/api/v1/schema-plans/orders-legacy"


def test_check_plan_not_verified__exits_1_with_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    portal = Portal({"p1": (200, {"status": "verifying", "reason": "2 of 5 clean verification runs"})})

    assert check(monkeypatch, portal, "--plan", "p1") == 1
    assert (
        "FAIL plan p1: status 'verifying'; a contract migration needs the plan verified or contracted "
        "(2 of 5 clean verification runs)" in capsys.readouterr().out
    )


def test_check_unknown_plan__exits_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(monkeypatch, Portal({}), "--plan", "ghost") == 1
    assert "FAIL plan ghost: request failed (404): Not found." in capsys.readouterr().out


def test_check_refused_token__exits_4(monkeypatch: pytest.MonkeyPatch) -> None:
    portal = Portal({"p1": (401, {"detail": "Invalid token."})})

    assert check(monkeypatch, portal, "--plan", "p1") == 4


def test_check_files__checks_each_contract_plan_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = write(tmp_path, "0004_drop_a.sql", "-- emc: contract plan=p-ok\nALTER TABLE t DROP COLUMN a;\n")
    two = write(tmp_path, "0005_drop_b.sql", "-- emc: contract plan=p-ok\nALTER TABLE t DROP COLUMN b;\n")
    three = write(tmp_path, "0006_drop_c.sql", "-- emc: contract plan=p-wait\nALTER TABLE t DROP COLUMN c;\n")
    expand = write(tmp_path, "0007_add.sql", "-- emc: expand\nALTER TABLE t ADD COLUMN d text;\n")
    portal = Portal({"p-ok": (200, {"status": "verified"}), "p-wait": (200, {"status": "migrating"})})

    assert check(monkeypatch, portal, str(one), str(two), str(three), str(expand)) == 1

    out = capsys.readouterr().out
    assert f"ok   plan p-ok: status verified [{one}, {two}]" in out
    assert "FAIL plan p-wait: status 'migrating'" in out
    assert sorted(r.url.path for r in portal.requests) == ["/api/v1/schema-plans/p-ok", "/api/v1/schema-plans/p-wait"]


def test_check_contract_file_without_plan__exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = write(tmp_path, "0004.sql", "-- emc: contract\nALTER TABLE t DROP COLUMN a;\n")

    assert check(monkeypatch, Portal({}), str(sql)) == 1
    assert f"FAIL {sql}:1: contract migration names no plan (plan=<id>)" in capsys.readouterr().out


def test_check_files_without_contract_steps__exit_0_without_asking_the_portal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = write(tmp_path, "0007.sql", "ALTER TABLE t ADD COLUMN d text;\n")
    portal = Portal({})

    assert check(monkeypatch, portal, str(sql)) == 0
    assert "no contract migrations in 1 file(s): nothing to check" in capsys.readouterr().out
    assert portal.requests == []


def test_check_json__reports_each_plan(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    portal = Portal({"a": (200, {"status": "contracted"}), "b": (200, {"status": "planned"})})

    assert check(monkeypatch, portal, "--format", "json", "--plan", "a", "--plan", "b") == 1

    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert [(p["plan"], p["ok"], p["status"]) for p in report["plans"]] == [
        ("a", True, "contracted"),
        ("b", False, "planned"),
    ]


def test_check_without_plan_or_files__is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        check(
            monkeypatch,
            Portal({}),
        )
        == 2
    )


def test_check_invalid_plan_id__is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check(monkeypatch, Portal({}), "--plan", "../admin") == 2


# -- schema hash


def test_schema_hash_cli__prints_the_helper_hash_of_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "db/migrations/0001_init.sql", "CREATE TABLE a (id bigint);\n")
    write(tmp_path, "db/migrations/0002_more.sql", "ALTER TABLE a ADD COLUMN b text;\n")
    write(tmp_path, "db/migrations/README.md", "not a migration\n")
    monkeypatch.chdir(tmp_path)

    assert cli.main(["schema", "hash", "db/migrations"]) == 0

    expected = schema_hash({
        "db/migrations/0001_init.sql": b"CREATE TABLE a (id bigint);\n",
        "db/migrations/0002_more.sql": b"ALTER TABLE a ADD COLUMN b text;\n",
    })  # fmt: skip
    assert capsys.readouterr().out.strip() == expected


def test_schema_hash_cli__root_makes_it_independent_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "repo/sql/0001.sql", "CREATE TABLE a (id bigint);\n")
    monkeypatch.chdir(tmp_path / "repo")
    assert cli.main(["schema", "hash", "--format", "json", "sql"]) == 0
    from_repo = json.loads(capsys.readouterr().out)
    monkeypatch.chdir(tmp_path)

    assert cli.main(["schema", "hash", "--format", "json", "--root", "repo", "repo/sql/0001.sql"]) == 0

    assert (
        json.loads(capsys.readouterr().out)
        == from_repo
        == {
            "schema_hash": schema_hash({"sql/0001.sql": b"CREATE TABLE a (id bigint);\n"}),
            "files": ["sql/0001.sql"],
        }
    )


def test_schema_hash_cli__no_files_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema", "hash", "--root", str(tmp_path), str(tmp_path)]) == 2
    assert "no migration files matched '*.sql'" in capsys.readouterr().err


def test_schema_hash_cli__file_outside_root_is_a_usage_error(tmp_path: Path) -> None:
    sql = write(tmp_path, "elsewhere/0001.sql", "SELECT 1;\n")

    assert cli.main(["schema", "hash", "--root", str(tmp_path / "repo"), str(sql)]) == 2
