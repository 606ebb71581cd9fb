"""Expand / contract / neutral phases: inferred from the operations, confirmed by the declaration."""

from __future__ import annotations

import pytest
from govctl.migration_lint import Phase, check_phase, infer_phase, lint_sql, read_emc


def tx(body: str) -> str:
    return f"BEGIN;\nSET LOCAL lock_timeout = '5s';\n{body}\nCOMMIT;\n"


@pytest.mark.parametrize(
    ("sql", "phase"),
    [
        ("CREATE TABLE invoices (id bigint PRIMARY KEY);", Phase.EXPAND),
        ("ALTER TABLE orders ADD COLUMN memo text;", Phase.EXPAND),
        ("CREATE INDEX CONCURRENTLY orders_memo ON orders (memo);", Phase.EXPAND),
        ("ALTER TABLE orders ALTER COLUMN legacy DROP NOT NULL;", Phase.EXPAND),
        ("ALTER TABLE orders ALTER COLUMN note TYPE varchar(500);", Phase.EXPAND),
        ("ALTER TYPE order_state ADD VALUE 'held';", Phase.EXPAND),
        ("ALTER TABLE orders DROP COLUMN legacy;", Phase.CONTRACT),
        ("DROP TABLE order_archive;", Phase.CONTRACT),
        ("ALTER TABLE orders DROP CONSTRAINT orders_legacy_check;", Phase.CONTRACT),
        ("DROP INDEX CONCURRENTLY orders_legacy_idx;", Phase.CONTRACT),
        ("ALTER TABLE orders ALTER COLUMN region SET NOT NULL;", Phase.CONTRACT),
        ("ALTER TABLE orders RENAME COLUMN note TO memo;", Phase.CONTRACT),
        ("ALTER TABLE orders ADD CONSTRAINT q CHECK (quantity > 0) NOT VALID;", Phase.CONTRACT),
        ("CREATE UNIQUE INDEX CONCURRENTLY customers_email ON customers (email);", Phase.CONTRACT),
        ("ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;", Phase.CONTRACT),
        ("UPDATE orders SET region = 'eu' WHERE region IS NULL;", Phase.NEUTRAL),
        ("COMMENT ON TABLE orders IS 'customer orders';", Phase.NEUTRAL),
        ("ALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';", Phase.NEUTRAL),
        ("", Phase.NEUTRAL),
    ],
)
def test_single_operation__infers_its_phase(sql: str, phase: Phase) -> None:
    assert infer_phase(sql) is phase


def test_expand_and_contract_together__infer_mixed() -> None:
    sql = tx("ALTER TABLE orders ADD COLUMN status_v2 text;\nALTER TABLE orders DROP COLUMN status;")

    assert infer_phase(sql) is Phase.MIXED


def test_operations_on_a_table_created_in_the_same_file__are_expand() -> None:
    sql = tx(
        "CREATE TABLE drafts (id bigint PRIMARY KEY, code text);\n"
        "ALTER TABLE drafts ADD CONSTRAINT drafts_code UNIQUE (code);\n"
        "ALTER TABLE drafts ALTER COLUMN code SET NOT NULL;\n"
        "ALTER TABLE drafts DROP COLUMN code;"
    )

    assert infer_phase(sql) is Phase.EXPAND


def test_constraint_on_a_column_added_in_the_same_file__is_expand() -> None:
    sql = tx(
        "ALTER TABLE orders ADD COLUMN coupon_code text;\n"
        "CREATE UNIQUE INDEX orders_coupon ON orders (coupon_code);\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_coupon_len CHECK (length(coupon_code) < 20) NOT VALID;"
    )

    assert infer_phase(sql) is Phase.EXPAND


def test_operations__explain_the_inferred_phase() -> None:
    result = lint_sql(tx("ALTER TABLE orders ADD COLUMN memo text;\nALTER TABLE orders DROP COLUMN note;"))

    assert [(op.phase, op.description, op.line) for op in result.operations] == [
        (Phase.EXPAND, "ADD COLUMN orders.memo", 3),
        (Phase.CONTRACT, "DROP COLUMN orders.note", 4),
    ]
    mixed = next(f for f in result.findings if f.rule == "emc-mixed-phase")
    assert mixed.detail == "expand: ADD COLUMN orders.memo (line 3); contract: DROP COLUMN orders.note (line 4)"


def test_unparsable_sql__has_no_phase() -> None:
    with pytest.raises(ValueError, match="does not parse"):
        infer_phase("ALTER TABLE orders ADD COLUMN;")


def test_declared_phase_matching_operations__passes() -> None:
    sql = "-- emc: contract plan=orders-legacy\n" + tx("ALTER TABLE orders DROP COLUMN legacy;")

    assert check_phase(sql) == []


def test_declared_expand_on_contract_operations__is_a_mismatch() -> None:
    findings = check_phase("-- emc: expand\n" + tx("ALTER TABLE orders DROP COLUMN legacy;"))

    assert [(f.rule, f.line, f.detail) for f in findings] == [
        ("emc-phase-mismatch", 1, "declared expand, operations say contract")
    ]


def test_declared_neutral_on_expand_operations__is_a_mismatch() -> None:
    findings = check_phase(tx("ALTER TABLE orders ADD COLUMN memo text;"), declared_phase="neutral")

    assert [f.rule for f in findings] == ["emc-phase-mismatch"]


def test_mixed_migration__fails_whatever_it_declares() -> None:
    sql = tx("ALTER TABLE orders ADD COLUMN status_v2 text;\nALTER TABLE orders DROP COLUMN status;")

    assert [f.rule for f in check_phase(sql, "contract", "p1")] == ["emc-mixed-phase"]
    assert [f.rule for f in check_phase(sql)] == ["emc-mixed-phase"]


def test_contract_operations_without_declaration__fail() -> None:
    findings = check_phase(tx("ALTER TABLE orders ALTER COLUMN region SET NOT NULL;"))

    assert [(f.rule, f.detail) for f in findings] == [
        ("emc-contract-undeclared", "SET NOT NULL orders.region (line 3)")
    ]


def test_expand_without_declaration__passes() -> None:
    assert check_phase(tx("ALTER TABLE orders ADD COLUMN memo text;")) == []


def test_contract_without_plan__fails() -> None:
    findings = check_phase("-- emc: contract\n" + tx("ALTER TABLE orders DROP COLUMN legacy;"))

    assert [f.rule for f in findings] == ["emc-contract-missing-plan"]


def test_django_declared_phase__overrides_the_sql_and_carries_the_plan() -> None:
    result = lint_sql(tx("ALTER TABLE orders DROP COLUMN legacy;"), declared_phase=Phase.CONTRACT, plan_id="plan-7")

    assert (result.declared_phase, result.plan_id, result.rule_ids) == (Phase.CONTRACT, "plan-7", set())


def test_mixed__cannot_be_declared() -> None:
    with pytest.raises(ValueError, match="mixed"):
        check_phase("SELECT 1;", declared_phase="mixed")


def test_annotation__gives_phase_plan_and_line() -> None:
    declaration = read_emc("-- drop the legacy column\n--   EMC: Contract  plan=orders-legacy.v2\nALTER TABLE t;")

    assert (declaration.phase, declaration.plan_id, declaration.line, declaration.problems) == (
        Phase.CONTRACT,
        "orders-legacy.v2",
        2,
        (),
    )


@pytest.mark.parametrize(
    ("annotation", "problem"),
    [
        ("-- emc: contracted", "unknown phase 'contracted' (expected expand, contract or neutral)"),
        ("-- emc:", "empty annotation"),
        ("-- emc: expand plan=p1", "plan=<id> belongs on contract migrations only"),
        ("-- emc: contract owner=me", "unexpected 'owner=me' (only plan=<id> may follow the phase)"),
        ("-- emc: contract plan=../etc", "invalid plan id '../etc'"),
        ("-- emc: mixed", "unknown phase 'mixed' (expected expand, contract or neutral)"),
    ],
)
def test_unreadable_annotation__is_reported(annotation: str, problem: str) -> None:
    findings = check_phase(annotation + "\nSELECT 1;\n")

    assert [(f.rule, f.line, f.detail) for f in findings] == [("emc-invalid-annotation", 1, problem)]


def test_conflicting_annotations__are_reported() -> None:
    sql = "-- emc: contract plan=p1\n-- emc: contract plan=p2\n" + tx("ALTER TABLE orders DROP COLUMN legacy;")

    findings = check_phase(sql)

    assert [(f.rule, f.line, f.detail) for f in findings] == [
        ("emc-invalid-annotation", 2, "conflicts with the annotation on line 1")
    ]
    assert read_emc(sql).plan_id == "p1"
