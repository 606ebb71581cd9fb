"""A scratch PostgreSQL database with real roles, grants and RLS policies, made and dropped per test.

Roles are cluster-wide: every name starts with `gov_dbaccess_` and a per-test id, and they are dropped after.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from django.conf import settings
from psycopg.conninfo import make_conninfo

from access import services
from governance.services import system_user
from recovery import services as dr_services

DSN_ENV = "GOV_DBACCESS_TEST_DSN"


def server_dsn(dbname: str) -> str:
    db = settings.DATABASES["default"]
    params = {"dbname": dbname, "user": db.get("USER"), "password": db.get("PASSWORD"), "host": db.get("HOST"),
              "port": db.get("PORT")}
    return make_conninfo(**{k: str(v) for k, v in params.items() if v})


@dataclass
class Scratch:
    database: str
    prefix: str
    dsn: str

    def role(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def run(self, *statements: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.replace("{p}", self.prefix))


def build_schema(scratch: Scratch) -> None:
    """The anon / service / maintenance split: maintenance owns, service writes orders and appends to the log,
    anon reads products."""
    scratch.run(
        "CREATE ROLE {p}_owner NOLOGIN",
        "CREATE ROLE {p}_service LOGIN",
        "CREATE ROLE {p}_anon LOGIN",
        "CREATE TABLE products (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL)",
        "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id int NOT NULL, "
        "total numeric NOT NULL)",
        "CREATE TABLE audit_log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, entry text NOT NULL)",
        "ALTER TABLE audit_log OWNER TO {p}_owner",
        "GRANT SELECT, INSERT ON audit_log TO {p}_service",
        "GRANT USAGE ON SEQUENCE audit_log_id_seq TO {p}_service",
        "ALTER TABLE products OWNER TO {p}_owner",
        "ALTER TABLE orders OWNER TO {p}_owner",
        "GRANT SELECT ON products TO {p}_anon",
        "GRANT SELECT ON products, orders TO {p}_service",
        "GRANT INSERT, UPDATE, DELETE ON orders TO {p}_service",
        "GRANT USAGE ON SEQUENCE orders_id_seq TO {p}_service",
        "ALTER TABLE orders ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY tenant_isolation ON orders TO {p}_service "
        "USING (tenant_id = current_setting('app.tenant')::int)",
    )


def declared_policy(prefix: str) -> dict[str, Any]:
    p = prefix
    return {
        "role_patterns": [f"{p}_*"],
        "owner": f"{p}_owner",
        "roles": {f"{p}_owner": {"kind": "maintenance"}, f"{p}_service": {"kind": "service", "login": True},
                  f"{p}_anon": {"kind": "anon", "login": True}},
        "write": {f"{p}_service": ["public.orders"], f"{p}_owner": ["*"]},
        "append": {f"{p}_service": ["public.audit_log"]},
        "read": {f"{p}_anon": ["public.products"], f"{p}_service": ["*"]},
        "rls_required": ["public.orders"],
        # As PostgreSQL prints it (pg_policies.qual).
        "policies": {"public.orders": {"tenant_isolation": {
            "command": "ALL", "roles": [f"{p}_service"],
            "using": "(tenant_id = (current_setting('app.tenant'::text))::integer)"}}},
    }


@pytest.fixture(scope="module")
def scratch_database() -> Iterator[str]:
    """One scratch database per test module (creating and dropping one per test is seconds under load)."""
    database = f"gov_dbaccess_scratch_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        yield database
    finally:
        with psycopg.connect(server_dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def scratch(scratch_database: str) -> Iterator[Scratch]:
    """Fresh roles (a per-test prefix) in the module's database; its schema is back to a new database's after."""
    prefix = f"gov_dbaccess_{uuid.uuid4().hex[:8]}"
    made = Scratch(database=scratch_database, prefix=prefix, dsn=server_dsn(scratch_database))
    try:
        yield made
    finally:
        with psycopg.connect(server_dsn("postgres"), autocommit=True) as conn:
            roles = [r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                                 [prefix + "%"])]
        with psycopg.connect(made.dsn, autocommit=True) as conn:
            for role in roles:  # their objects, grants and default privileges in this database (one at a time:
                conn.execute(f'DROP OWNED BY "{role}"')  # several at once trip over a shared default ACL)
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
            conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
        with psycopg.connect(server_dsn("postgres"), autocommit=True) as conn:
            for role in roles:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def governed(scratch, monkeypatch, db, tmp_path):
    """The scratch database built, registered as a backup target with an access policy."""
    build_schema(scratch)
    monkeypatch.setenv(DSN_ENV, scratch.dsn)
    actor = system_user()
    target = dr_services.create_backup_target(name=f"scratch-{scratch.prefix[-8:]}", directory=str(tmp_path),
                                              dsn_env=DSN_ENV, actor=actor, reason="test fixture")
    services.create_access_policy(target=target, document=declared_policy(scratch.prefix), actor=actor,
                                  reason="test fixture")
    return scratch, target
