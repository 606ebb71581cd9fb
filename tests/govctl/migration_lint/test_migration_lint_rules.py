"""The lint rules: each corpus scenario reports exactly its expected rules; options and ignores behave."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from govctl import migration_lint
from govctl.migration_lint import RULES, Severity, lint_sql

from tests.releases.corpus import corpus_files, expected_rules

DOCS = Path(__file__).resolve().parents[3] / "docs" / "MIGRATIONS.md"
TIMEOUT = "SET lock_timeout = '5s';\n"


def in_tx(body: str) -> str:
    """`body` on line 3 onwards of one transaction that sets lock_timeout."""
    return f"BEGIN;\nSET LOCAL lock_timeout = '5s';\n{body}\nCOMMIT;\n"


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.stem)
def test_corpus_scenario__reports_exactly_the_expected_rules(path: Path) -> None:
    result = lint_sql(path.read_text(encoding="utf-8"), name=path.name)

    assert result.rule_ids == expected_rules(path), [(f.line, f.rule, f.detail) for f in result.findings]


# Rules that need a linter option the corpus files cannot carry; each has its own test below.
NEEDS_OPTION = {"commit-in-tool-transaction": "in_transaction=True"}


def test_corpus__exercises_every_rule() -> None:
    exercised = set().union(*(expected_rules(path) for path in corpus_files()))

    assert exercised | set(NEEDS_OPTION) == set(RULES)


def test_docs__describe_every_rule_with_its_safe_alternative() -> None:
    text = DOCS.read_text(encoding="utf-8")

    missing = [rule.id for rule in RULES.values() if f"`{rule.id}`" not in text or rule.safe_alternative not in text]
    assert not missing


def test_finding__carries_line_statement_message_and_safe_alternative() -> None:
    sql = "BEGIN;\nSET LOCAL lock_timeout = '5s';\n\nALTER TABLE orders\n  RENAME COLUMN note TO memo;\nCOMMIT;\n"

    finding = next(f for f in lint_sql(sql).findings if f.rule == "rename-column")

    assert finding.line == 4
    assert finding.statement == "ALTER TABLE orders RENAME COLUMN note TO memo"
    assert finding.detail == "orders.note -> memo"
    assert finding.severity is Severity.ERROR
    assert (finding.message, finding.safe_alternative) == (
        RULES["rename-column"].message,
        RULES["rename-column"].safe_alternative,
    )


def test_errors_and_warnings__decide_ok() -> None:
    warning_only = lint_sql(TIMEOUT + "CREATE TABLE t (id bigint PRIMARY KEY, at timestamp);")
    with_error = lint_sql(TIMEOUT + "ALTER TABLE orders RENAME TO purchases;")

    assert (warning_only.ok, [f.rule for f in warning_only.warnings]) == (True, ["timestamp-without-time-zone"])
    assert with_error.ok is False


def test_pg10_target__constant_default_rewrites() -> None:
    sql = TIMEOUT + "ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';"

    assert "add-column-volatile-default" not in lint_sql(sql).rule_ids
    assert "add-column-volatile-default" in lint_sql(sql, pg_version=10).rule_ids


def test_tool_wraps_in_transaction__explicit_begin_is_nesting() -> None:
    sql = "BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN memo text;\nCOMMIT;\n"

    assert lint_sql(sql).rule_ids == set()
    assert lint_sql(sql, in_transaction=True).rule_ids == {"transaction-nesting"}


def test_tool_wraps_in_transaction__concurrent_index_is_rejected() -> None:
    sql = TIMEOUT + "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON orders (customer_id);"

    assert lint_sql(sql, in_transaction=True).rule_ids == {"concurrent-index-in-transaction"}


def test_session_timeout_set_by_tool__satisfies_lock_timeout() -> None:
    sql = "BEGIN;\nALTER TABLE orders ADD COLUMN memo text;\nCOMMIT;\n"

    assert lint_sql(sql).rule_ids == {"missing-lock-timeout"}
    assert lint_sql(sql, lock_timeout_set=True).rule_ids == set()


def test_reset_lock_timeout__removes_protection() -> None:
    sql = TIMEOUT + "RESET lock_timeout;\nALTER TABLE orders ADD COLUMN memo text;"

    finding = next(f for f in lint_sql(sql).findings if f.rule == "missing-lock-timeout")
    assert (finding.line, finding.detail) == (3, "ACCESS EXCLUSIVE on orders")


def test_missing_lock_timeout__reported_once_with_count() -> None:
    sql = "ALTER TABLE a ADD COLUMN x text;\nALTER TABLE b ADD COLUMN y text;\nALTER TABLE c ADD COLUMN z text;\n"

    findings = [f for f in lint_sql(sql).findings if f.rule == "missing-lock-timeout"]
    assert [(f.line, f.detail) for f in findings] == [(1, "ACCESS EXCLUSIVE on a; 2 later statement(s) too")]


def test_foreign_key_from_new_table__needs_timeout_for_referenced_table() -> None:
    sql = "CREATE TABLE notes (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));"

    finding = next(f for f in lint_sql(sql).findings if f.rule == "missing-lock-timeout")
    assert finding.detail == "SHARE ROW EXCLUSIVE on orders"


def test_new_tables_option__exempts_tables_created_by_an_earlier_migration() -> None:
    sql = in_tx("ALTER TABLE drafts ADD COLUMN total bigint NOT NULL;\nCREATE INDEX drafts_total ON drafts (total);")

    assert lint_sql(sql).rule_ids == {"add-not-null-column-without-default", "create-index-non-concurrently"}
    assert lint_sql(sql, new_tables=["public.drafts"]).rule_ids == set()


def test_validated_not_null_option__allows_set_not_null() -> None:
    sql = "-- emc: contract plan=p1\n" + TIMEOUT + "ALTER TABLE orders ALTER COLUMN region SET NOT NULL;"

    assert lint_sql(sql).rule_ids == {"set-not-null-without-check"}
    assert lint_sql(sql, validated_not_null=["orders.region"]).rule_ids == set()


def test_check_added_without_not_valid__still_proves_not_null_for_set_not_null() -> None:
    sql = "-- emc: contract plan=p1\n" + in_tx(
        "ALTER TABLE orders ADD CONSTRAINT c CHECK (region IS NOT NULL);\n"
        "ALTER TABLE orders ALTER COLUMN region SET NOT NULL;"
    )

    assert lint_sql(sql).rule_ids == {"add-check-without-not-valid"}


def test_not_valid_check_without_validate__does_not_prove_not_null() -> None:
    sql = "-- emc: contract plan=p1\n" + in_tx(
        "ALTER TABLE orders ADD CONSTRAINT c CHECK (region IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE orders ALTER COLUMN region SET NOT NULL;"
    )

    assert lint_sql(sql).rule_ids == {"set-not-null-without-check"}


def test_type_change_with_using__is_a_rewrite_even_to_text() -> None:
    sql = "-- emc: contract plan=p1\n" + TIMEOUT + "ALTER TABLE orders ALTER COLUMN code TYPE text USING code::text;"

    assert lint_sql(sql).rule_ids == {"change-column-type"}


def test_disabled_rule__is_not_reported() -> None:
    sql = TIMEOUT + "CREATE TABLE t (id bigint PRIMARY KEY, at timestamp);"

    assert lint_sql(sql, disabled=["timestamp-without-time-zone"]).rule_ids == set()


def test_unknown_disabled_rule__is_refused() -> None:
    with pytest.raises(ValueError, match="no-such-rule"):
        lint_sql("SELECT 1;", disabled=["no-such-rule"])


def test_lint_ignore__applies_to_the_next_statement_only() -> None:
    sql = in_tx(
        "-- lint-ignore: create-index-non-concurrently (orders_archive is empty)\n"
        "CREATE INDEX a ON orders_archive (id);\n"
        "CREATE INDEX b ON orders (id);"
    )

    result = lint_sql(sql)

    assert [(f.rule, f.line) for f in result.findings] == [("create-index-non-concurrently", 5)]
    assert result.suppressed == 1


def test_lint_ignore_file__silences_the_rule_everywhere() -> None:
    sql = "-- lint-ignore-file: timestamp-without-time-zone\n" + in_tx(
        "CREATE TABLE a (id bigint PRIMARY KEY, at timestamp);\nCREATE TABLE b (id bigint PRIMARY KEY, at timestamp);"
    )

    result = lint_sql(sql)

    assert (result.rule_ids, result.suppressed) == (set(), 2)


def test_parse_error__points_at_the_line() -> None:
    result = lint_sql("SELECT 1;\n\nALTER TABLE orders ADD COLUMN;\n")

    assert [(f.rule, f.line) for f in result.findings] == [("parse-error", 3)]
    assert "syntax error" in result.findings[0].detail


def test_non_ascii_sql__keeps_line_numbers() -> None:
    sql = "-- Änderung für Bestellungen: “Notiz”\n" + TIMEOUT + "ALTER TABLE orders RENAME COLUMN note TO notiz;"

    finding = next(f for f in lint_sql(sql).findings if f.rule == "rename-column")
    assert (finding.line, finding.statement) == (3, "ALTER TABLE orders RENAME COLUMN note TO notiz")


def test_result_to_dict__is_json_ready() -> None:
    data = lint_sql(TIMEOUT + "ALTER TABLE orders RENAME TO purchases;", name="0042.sql").to_dict()

    assert data["name"] == "0042.sql"
    assert (data["ok"], data["errors"], data["inferred_phase"]) == (False, 2, "contract")
    assert {f["rule"] for f in data["findings"]} == {"rename-table", "emc-contract-undeclared"}
    assert data["findings"][0]["severity"] == "error"


def test_without_pglast__lint_explains_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    pglast_users = ("engine", "ddl", "columns")
    for name in [n for n in sys.modules if n.startswith("pglast.")]:
        monkeypatch.delitem(sys.modules, name)
    for module in pglast_users:
        monkeypatch.delitem(sys.modules, f"govctl.migration_lint.{module}", raising=False)
        monkeypatch.delattr(migration_lint, module, raising=False)
    monkeypatch.setitem(sys.modules, "pglast", None)

    with pytest.raises(migration_lint.LintUnavailable, match=r"pip install 'govctl\[lint\]'"):
        migration_lint.lint_sql("SELECT 1;")
    assert migration_lint.read_emc("-- emc: contract plan=p9\n").plan_id == "p9"
