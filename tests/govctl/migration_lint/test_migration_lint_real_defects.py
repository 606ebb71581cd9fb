"""The linter's blind spots found on real migrations (issue 13), each with its own cases."""

from __future__ import annotations

import pytest
from govctl.cli import main
from govctl.migration_lint import lint_sql

TIMEOUT = "SET lock_timeout = '5s';\n"


def rules(sql: str, **options: object) -> set[str]:
    return lint_sql(sql, **options).rule_ids  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "statement",
    [
        "DROP VIEW order_totals;",
        "DROP MATERIALIZED VIEW sales_summary;",
        "CREATE OR REPLACE VIEW order_totals AS SELECT 1 AS n;",
        "DROP TRIGGER orders_audit ON orders;",
        "CREATE POLICY tenant_rows ON orders USING (tenant_id = 1);",
        "ALTER POLICY tenant_rows ON orders USING (tenant_id = 2);",
        "DROP POLICY tenant_rows ON orders;",
        "REFRESH MATERIALIZED VIEW sales_summary;",
        "DROP FUNCTION order_total(bigint) CASCADE;",
        "DROP TYPE order_state CASCADE;",
    ],
)
def test_exclusive_lock_statement_without_timeout__missing_lock_timeout(statement):
    assert "missing-lock-timeout" in rules(statement)
    assert "missing-lock-timeout" not in rules(TIMEOUT + statement)


@pytest.mark.parametrize(
    "statement",
    ["REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary;", "DROP FUNCTION order_total(bigint);",
     "CREATE VIEW fresh AS SELECT 1 AS n;"],
)
def test_statement_that_blocks_no_reader__no_lock_timeout_finding(statement):
    assert "missing-lock-timeout" not in rules(statement)


def test_view_created_in_same_file__dropping_it_locks_nothing_in_use():
    assert "missing-lock-timeout" not in rules("CREATE VIEW v AS SELECT 1 AS n;\nDROP VIEW v;")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("REINDEX (CONCURRENTLY false) TABLE orders;", "reindex-non-concurrently"),
        ("REINDEX (CONCURRENTLY off) TABLE orders;", "reindex-non-concurrently"),
        ("REINDEX (CONCURRENTLY) TABLE orders;", None),
        ("REINDEX (CONCURRENTLY true) TABLE orders;", None),
    ],
)
def test_reindex_option_value__counts(statement, expected):
    found = rules(TIMEOUT + statement)

    assert ("reindex-non-concurrently" in found) == (expected is not None)


@pytest.mark.parametrize(("options", "locks"), [("(FULL false)", False), ("(FULL 0)", False), ("(FULL)", True),
                                                ("(FULL true, ANALYZE)", True)])
def test_vacuum_full_option_value__only_full_locks(options, locks):
    assert ("missing-lock-timeout" in rules(f"VACUUM {options} orders;")) is locks


def test_schema_qualified_names__a_new_public_table_does_not_make_auth_table_new():
    sql = "CREATE TABLE public.users (id bigint PRIMARY KEY);\nALTER TABLE auth.users ADD COLUMN age int NOT NULL;"

    assert "add-not-null-column-without-default" in rules(sql)
    assert "add-not-null-column-without-default" not in rules(sql.replace("auth.users", "users"))
    assert "add-not-null-column-without-default" not in rules(sql.replace("auth.users", "public.users"))


def test_new_table_option__schema_qualified_too():
    sql = "ALTER TABLE auth.users ADD COLUMN age int NOT NULL;"

    assert "add-not-null-column-without-default" in rules(sql, new_tables=["users"])
    assert "add-not-null-column-without-default" not in rules(sql, new_tables=["auth.users"])


def test_exclusion_constraint__flagged_and_locks():
    sql = "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);"

    assert {"add-exclusion-constraint", "missing-lock-timeout"} <= rules(sql)


def test_detach_partition__flagged_concurrent_is_fine_outside_transaction_refused_inside():
    assert "detach-partition-non-concurrently" in rules(TIMEOUT + "ALTER TABLE events DETACH PARTITION events_2023;")
    outside = rules(TIMEOUT + "ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY;")
    inside = rules("ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY;", in_transaction=True,
                   lock_timeout_set=True)

    assert not outside & {"detach-partition-non-concurrently", "detach-partition-concurrently-in-transaction"}
    assert "detach-partition-concurrently-in-transaction" in inside


SAFE_NOT_NULL = (
    "ALTER TABLE orders ADD CONSTRAINT region_nn CHECK (region IS NOT NULL) NOT VALID;\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT region_nn;\n"
)


def test_documented_set_not_null_path__passes_in_one_file_and_from_the_cli(tmp_path, capsys):
    later = tmp_path / "0002_set_not_null.sql"
    later.write_text("-- emc: contract plan=orders-region\n" + TIMEOUT + "ALTER TABLE orders ALTER COLUMN region SET NOT NULL;\n")

    assert "set-not-null-without-check" not in rules(TIMEOUT + SAFE_NOT_NULL + "ALTER TABLE orders ALTER COLUMN "
                                                      "region SET NOT NULL;")
    flagged = main(["migrations", "lint", str(later)])
    proven = main(["migrations", "lint", str(later), "--validated-not-null", "orders.region"])
    out = capsys.readouterr().out

    assert (flagged, proven) == (1, 0)
    assert "set-not-null-without-check" in out


def test_set_not_null_on_postgres_11__flagged_even_after_a_validated_check():
    sql = TIMEOUT + SAFE_NOT_NULL + "ALTER TABLE orders ALTER COLUMN region SET NOT NULL;"

    assert "set-not-null-without-check" in rules(sql, pg_version=11)
    assert "set-not-null-without-check" not in rules(sql, pg_version=12)


@pytest.mark.parametrize("end", ["COMMIT;", "ROLLBACK;"])
def test_commit_in_file_the_tool_wraps__error(end):
    sql = f"ALTER TABLE orders ADD COLUMN note text;\n{end}\n"

    assert "commit-in-tool-transaction" in rules(sql, in_transaction=True, lock_timeout_set=True)
    assert "commit-in-tool-transaction" not in rules("BEGIN;\n" + sql, lock_timeout_set=True)


def test_do_block_ddl__linted_like_plain_statements():
    sql = "DO $$\nBEGIN\n  IF true THEN\n    CREATE INDEX orders_region_idx ON orders (region);\n  END IF;\nEND\n$$;"

    found = rules(TIMEOUT + sql)

    assert "create-index-non-concurrently" in found and "do-block-unchecked" not in found
    assert "missing-lock-timeout" in rules(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'orders'; END $$;",
        "DO LANGUAGE plperl $$ 1; $$;",
        "DO $$ BEGIN THIS IS NOT PLPGSQL; END $$;",
    ],
)
def test_do_block_not_checkable__flagged_never_silently_passed(sql):
    assert "do-block-unchecked" in rules(TIMEOUT + sql)


def test_concurrent_index_in_do_block__refused_like_in_a_transaction():
    sql = TIMEOUT + "DO $$ BEGIN CREATE INDEX CONCURRENTLY i ON orders (region); END $$;"

    assert "concurrent-index-in-transaction" in rules(sql)


def test_rerunnable_patterns__not_warned():
    drop_then_add = (TIMEOUT + "ALTER TABLE orders DROP CONSTRAINT IF EXISTS region_fk;\n"
                     "ALTER TABLE orders ADD CONSTRAINT region_fk FOREIGN KEY (region_id) REFERENCES regions (id) "
                     "NOT VALID;\n")
    temp_table = (TIMEOUT + "CREATE TEMP TABLE moved (id bigint) ON COMMIT DROP;\n"
                  "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_region_idx ON orders (region);\n")

    assert "non-rerunnable-statement" not in rules(drop_then_add)
    assert "non-rerunnable-statement" not in rules(temp_table)


def test_add_constraint_without_preceding_drop__warning_suggests_a_fix_postgres_accepts():
    sql = (TIMEOUT + "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\n"
           "ALTER TABLE orders ADD CONSTRAINT note_len CHECK (length(note) < 200) NOT VALID;\n")

    finding = next(f for f in lint_sql(sql).findings if f.rule == "non-rerunnable-statement")

    assert "DROP CONSTRAINT IF EXISTS" in finding.detail and "ADD CONSTRAINT IF NOT EXISTS" not in finding.detail
