"""Ground truth from a real PostgreSQL: the rewrite rules fire exactly when the server rewrites the table.

A rewrite gives the table a new relfilenode, so comparing pg_relation_filenode() before and after a statement
shows whether PostgreSQL rewrote it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from govctl.migration_lint import lint_sql
from psycopg import sql as pgsql

DATABASE = os.environ.get("GOV_LINT_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/gov_lint")


@pytest.fixture(scope="module")
def connection() -> Iterator[psycopg.Connection]:
    server, _, name = DATABASE.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            admin.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    with psycopg.connect(DATABASE, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS lint_truth CASCADE; CREATE SCHEMA lint_truth")
        conn.execute("SET search_path = lint_truth; SET TimeZone = 'UTC'")
        yield conn
        conn.execute("DROP SCHEMA lint_truth CASCADE")


def rewrites(conn: psycopg.Connection, setup: str, statement: str) -> bool:
    conn.execute("DROP TABLE IF EXISTS orders")
    conn.execute(f"CREATE TABLE orders (id bigint PRIMARY KEY{setup})")
    conn.execute("INSERT INTO orders (id) SELECT generate_series(1, 200)")
    before = conn.execute("SELECT pg_relation_filenode('orders')").fetchone()
    conn.execute(statement)
    return conn.execute("SELECT pg_relation_filenode('orders')").fetchone() != before


ADD_COLUMN = [
    "timestamptz DEFAULT now()",
    "timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP",
    "timestamptz DEFAULT statement_timestamp()",
    "text NOT NULL DEFAULT 'new'",
    "text DEFAULT lower('A')",
    "bigint DEFAULT 0",
    "float8 DEFAULT random()",
    "uuid DEFAULT gen_random_uuid()",
    "timestamptz DEFAULT clock_timestamp()",
    "bigserial",
    "bigint GENERATED ALWAYS AS IDENTITY",
    "bigint GENERATED ALWAYS AS (id * 2) STORED",
]


@pytest.mark.parametrize("column", ADD_COLUMN)
def test_add_column__volatile_default_rule_matches_a_real_rewrite(connection: psycopg.Connection, column: str) -> None:
    statement = f"ALTER TABLE orders ADD COLUMN extra {column}"

    flagged = "add-column-volatile-default" in lint_sql(f"SET lock_timeout = '5s';\n{statement};").rule_ids

    assert flagged == rewrites(connection, "", statement)


WIDENINGS = [
    ("varchar(10)", "varchar(20)"),
    ("varchar(10)", "varchar"),
    ("varchar(10)", "text"),
    ("numeric(10, 2)", "numeric(12, 2)"),
]


@pytest.mark.parametrize(("old", "new"), WIDENINGS)
def test_widening_type_change__is_only_a_warning_and_does_not_rewrite(
    connection: psycopg.Connection, old: str, new: str
) -> None:
    statement = f"ALTER TABLE orders ALTER COLUMN c TYPE {new}"

    rules = lint_sql(f"SET lock_timeout = '5s';\n{statement};").rule_ids

    assert rules == {"change-column-type-widening"}
    assert not rewrites(connection, f", c {old}", statement)


REWRITING_TYPE_CHANGES = [
    ("integer", "bigint"),
    ("text", "integer USING c::integer"),
    ("smallint", "integer"),
    ("text", "varchar(5)"),
]


@pytest.mark.parametrize(("old", "new"), REWRITING_TYPE_CHANGES)
def test_rewriting_type_change__is_reported(connection: psycopg.Connection, old: str, new: str) -> None:
    statement = f"ALTER TABLE orders ALTER COLUMN c TYPE {new}"

    rules = lint_sql(f"SET lock_timeout = '5s';\n{statement};").rule_ids

    assert rules & {"change-column-type", "change-column-type-widening"}
    assert rewrites(connection, f", c {old}", statement)
