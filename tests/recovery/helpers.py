"""Helpers for the recovery tests: throwaway databases on the local PostgreSQL (127.0.0.1:5432)."""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

ADMIN_DSN = os.environ.get("GOV_REC_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
SHADOW_PREFIX = "gov_rec"

SCHEMA = """
CREATE TABLE customers (
    id integer PRIMARY KEY,
    name text NOT NULL,
    created timestamptz NOT NULL,
    balance numeric(12, 2) NOT NULL,
    score double precision
);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    total numeric(12, 2) NOT NULL,
    placed_at timestamptz NOT NULL,
    note text
);
CREATE SCHEMA "Audit";
CREATE TABLE "Audit"."Event Log" (id serial PRIMARY KEY, payload jsonb NOT NULL, at timestamptz NOT NULL);
CREATE TABLE empty_table (id integer PRIMARY KEY);
INSERT INTO customers
SELECT g, 'customer ' || g, timestamptz '2024-03-10 01:30:00+00' + g * interval '37 minutes', g * 1.25, g / 7.0
FROM generate_series(1, 200) g;
INSERT INTO orders
SELECT g, 1 + g % 200, g * 3.10, timestamptz '2024-06-01 00:00:00+00' + g * interval '1 hour',
       CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g END
FROM generate_series(1, 500) g;
INSERT INTO "Audit"."Event Log" (payload, at)
SELECT jsonb_build_object('n', g, 'kind', 'evt'), timestamptz '2024-01-01 00:00:00+00' + g * interval '1 day'
FROM generate_series(1, 50) g;
"""


def create_database(name: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def shadow_databases() -> set[str]:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'gov\\_rec\\_shadow\\_%'").fetchall()
    return {r[0] for r in rows}
