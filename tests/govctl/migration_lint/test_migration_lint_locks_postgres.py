"""The lock claims behind `missing-lock-timeout`, checked on the real PostgreSQL (15 at 127.0.0.1:5432): one
session runs the statement in an open transaction, a second session's read then times out on its lock_timeout.
Runs in this engineer's own database (DATABASE_URL), in a throw-away schema."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from govctl.migration_lint import lint_sql

DATABASE = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gov_govctl")
SCHEMA = "lint_locks"
SETUP = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
SET search_path = {SCHEMA};
CREATE TYPE order_state AS ENUM ('open', 'paid');
CREATE FUNCTION next_ref() RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';
CREATE TABLE orders (id bigint PRIMARY KEY, tenant_id int, state order_state, ref bigint DEFAULT next_ref(),
                     during tstzrange);
INSERT INTO orders (id, tenant_id) SELECT g, g % 3 FROM generate_series(1, 50) g;
CREATE VIEW order_totals AS SELECT tenant_id, count(*) AS n FROM orders GROUP BY tenant_id;
CREATE MATERIALIZED VIEW sales_summary AS SELECT tenant_id, count(*) AS n FROM orders GROUP BY tenant_id;
CREATE UNIQUE INDEX sales_summary_tenant ON sales_summary (tenant_id);
CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER orders_audit BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit();
CREATE POLICY tenant_rows ON orders USING (tenant_id = 1);
CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
"""

# statement → what a reader selects from while the statement's transaction is open
BLOCKS_READERS = [
    ("DROP VIEW order_totals", "order_totals"),
    ("DROP MATERIALIZED VIEW sales_summary", "sales_summary"),
    ("CREATE OR REPLACE VIEW order_totals AS SELECT tenant_id, count(*) AS n FROM orders GROUP BY tenant_id",
     "order_totals"),
    ("DROP TRIGGER orders_audit ON orders", "orders"),
    ("CREATE POLICY other_rows ON orders USING (tenant_id = 2)", "orders"),
    ("ALTER POLICY tenant_rows ON orders USING (tenant_id = 2)", "orders"),
    ("DROP POLICY tenant_rows ON orders", "orders"),
    ("REFRESH MATERIALIZED VIEW sales_summary", "sales_summary"),
    ("DROP TYPE order_state CASCADE", "orders"),
    ("DROP FUNCTION next_ref() CASCADE", "orders"),
    ("ALTER TABLE orders ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&)", "orders"),
    ("ALTER TABLE events DETACH PARTITION events_2023", "events"),
    ("REINDEX (CONCURRENTLY false) TABLE orders", "orders"),
]


@pytest.fixture
def sessions() -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    with psycopg.connect(DATABASE, autocommit=True) as setup:
        setup.execute(SETUP)
    holder = psycopg.connect(DATABASE)
    reader = psycopg.connect(DATABASE, autocommit=True)
    try:
        for conn in (holder, reader):
            conn.execute(f"SET search_path = {SCHEMA}")
        holder.commit()
        reader.execute("SET lock_timeout = '200ms'")
        yield holder, reader
    finally:
        holder.rollback()
        holder.close()
        reader.close()
        with psycopg.connect(DATABASE, autocommit=True) as cleanup:
            cleanup.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def _reader_waits(holder: psycopg.Connection, reader: psycopg.Connection, statement: str, read_from: str) -> bool:
    holder.execute(statement)  # the transaction stays open: the lock is held
    try:
        reader.execute(f"SELECT count(*) FROM {read_from}").fetchone()
    except psycopg.errors.LockNotAvailable:
        return True
    finally:
        holder.rollback()
    return False


@pytest.mark.parametrize(("statement", "read_from"), BLOCKS_READERS, ids=[s for s, _ in BLOCKS_READERS])
def test_statement_blocks_readers_on_postgres__linter_asks_for_lock_timeout(sessions, statement, read_from):
    holder, reader = sessions

    assert _reader_waits(holder, reader, statement, read_from), f"{statement} did not block a reader"
    assert "missing-lock-timeout" in lint_sql(statement + ";").rule_ids


@pytest.mark.parametrize(
    ("statement", "read_from"),
    [("REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary", "sales_summary"), ("VACUUM (FULL false) orders", "orders")],
)
def test_statement_that_leaves_readers_alone__no_lock_timeout_finding(sessions, statement, read_from):
    holder, reader = sessions
    if statement.startswith("VACUUM"):
        holder.autocommit = True  # VACUUM cannot run in a transaction block; a plain VACUUM blocks no reader
        holder.execute(statement)
        assert reader.execute(f"SELECT count(*) FROM {read_from}").fetchone() == (50,)
    else:
        assert not _reader_waits(holder, reader, statement, read_from)
    assert "missing-lock-timeout" not in lint_sql(statement + ";").rule_ids


def test_detach_concurrently_in_transaction__refused_by_postgres_and_flagged(sessions):
    holder, _ = sessions
    statement = "ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY"

    with pytest.raises(psycopg.errors.ActiveSqlTransaction):
        holder.execute(statement)
    assert "detach-partition-concurrently-in-transaction" in lint_sql(statement + ";", in_transaction=True).rule_ids
