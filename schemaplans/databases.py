"""Connections to the databases plans and backfills target: the portal's own, or a service's by env var NAME.

Only the name of the environment variable is stored (e.g. SHOP_DATABASE_URL); the DSN is read from the
worker's environment when a connection opens, and scrubbed from any error that could echo it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.core.exceptions import ValidationError

from governance import sql_rules

DEFAULT = "default"
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,80}_(DATABASE_URL|DSN)")


class DatabaseUnavailable(RuntimeError):
    """The target database cannot be reached or is not configured on this worker."""


def validate_database_name(value: str) -> None:
    if value == DEFAULT:
        return
    if "://" in value or "=" in value or "@" in value:
        raise ValidationError("Store the NAME of an environment variable that holds the DSN, never the DSN itself.")
    if not ENV_NAME.fullmatch(value):
        raise ValidationError(
            "Use `default` (the portal's database) or an environment variable name ending in _DATABASE_URL or _DSN "
            "(e.g. SHOP_DATABASE_URL)."
        )


def portal_tables() -> frozenset[str]:
    """The portal's own tables (every installed model's, plus Django's migration ledger), lower-case."""
    from django.apps import apps

    return frozenset({m._meta.db_table.lower() for m in apps.get_models(include_auto_created=True)}
                     | {"django_migrations"})


def portal_table(name: str) -> bool:
    """Whether a table name (optionally schema-qualified) names one of the portal's own tables."""
    schema, _, table = name.lower().rpartition(".")
    return schema in ("", "public") and table in portal_tables()


def typed_sql_problem(kind: str, text: str, *, database: str, table: str = "", key_column: str = "id") -> str:
    """Why typed SQL is refused on `database`, or '' (governance.sql_rules, plus: never the portal's own tables).

    On `default` typed SQL runs as a throwaway role granted only the plan's or backfill's table, and that table
    may not be one of the portal's: the portal's own data changes through code (backfill callables), not SQL.
    """
    try:
        named = sql_rules.check(kind, text, table=table, key_column=key_column)
    except sql_rules.SqlRefused as exc:
        return str(exc)
    if database == DEFAULT:
        own = sorted(t for t in {*named, *([table] if table else [])} if portal_table(t))
        if own:
            return (f"Typed SQL never touches the portal's own tables ({', '.join(own)}): the portal's data "
                    "changes through code (a registered backfill callable), not SQL.")
    return ""


def _default_params() -> dict:
    from django.db import connections

    params = dict(connections[DEFAULT].get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold"):  # Django's adapters: plain psycopg here
        params.pop(key, None)
    return params


def scrub(message: str, name: str) -> str:
    dsn = os.environ.get(name, "") if name != DEFAULT else ""
    return message.replace(dsn, f"${name}") if dsn else message


@contextmanager
def connect(name: str, *, application_name: str = "governance") -> Iterator[psycopg.Connection]:
    """An autocommit psycopg connection to `name` (transactions are explicit: `with conn.transaction()`)."""
    try:
        if name == DEFAULT:
            conn = psycopg.connect(**_default_params(), autocommit=True, application_name=application_name)
        else:
            validate_database_name(name)
            dsn = os.environ.get(name, "").strip()
            if not dsn:
                raise DatabaseUnavailable(f"environment variable {name} is not set on this worker")
            conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10, application_name=application_name)
    except psycopg.Error as exc:
        raise DatabaseUnavailable(f"cannot connect to {name}: {scrub(str(exc).strip(), name)}") from None
    except ValidationError as exc:
        raise DatabaseUnavailable(f"invalid database name {name!r}: {'; '.join(exc.messages)}") from None
    try:
        yield conn
    finally:
        conn.close()
