"""Fixtures for the recovery engine tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from recovery.engine.backup import BackupInfo, take_backup
from recovery.engine.pgtools import dsn_with_database
from tests.recovery.helpers import ADMIN_DSN, SCHEMA, create_database, drop_database, shadow_databases


@pytest.fixture
def admin_dsn() -> str:
    return ADMIN_DSN


@pytest.fixture
def source_dsn() -> Iterator[str]:
    name = f"gov_rec_src_{secrets.token_hex(4)}"
    create_database(name)
    dsn = dsn_with_database(ADMIN_DSN, name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
    try:
        yield dsn
    finally:
        drop_database(name)


@pytest.fixture
def backup(source_dsn: str, tmp_path: Path) -> BackupInfo:
    return take_backup(dsn=source_dsn, directory=tmp_path / "backups")


@pytest.fixture
def no_leftover_shadows() -> Iterator[None]:
    before = shadow_databases()
    yield
    assert shadow_databases() - before == set(), "a drill left its shadow database behind"


# --- Django side (recovery app) ----------------------------------------------------------------------

SRC_DB = f"gov_rec2_src_{secrets.token_hex(4)}"  # per run: engineers share one PostgreSQL server
SRC_ENV = "GOV_REC2_SRC_DSN"
DJANGO_SMOKE = [
    {"name": "customers present", "sql": "SELECT count(*) = 200 FROM customers"},
    {"name": "orders present", "sql": "SELECT count(*) FROM orders"},
]


@pytest.fixture
def src_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A small real database (gov_rec2_src) whose DSN is in $GOV_REC2_SRC_DSN, as a target stores it."""
    create_database(SRC_DB)
    dsn = dsn_with_database(ADMIN_DSN, SRC_DB)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
    monkeypatch.setenv(SRC_ENV, dsn)
    try:
        yield dsn
    finally:
        drop_database(SRC_DB)


@pytest.fixture
def dr_settings(settings, tmp_path: Path):
    """Shadow databases named gov_rec2_shadow_*, drills against the local server."""
    settings.DR_SHADOW_PREFIX = "gov_rec2"
    settings.DR_DRILL_ADMIN_DSN = ADMIN_DSN
    settings.DR_ALERT_WEBHOOK_URL = ""
    return settings


@pytest.fixture
def target(src_db: str, dr_settings, system_user, tmp_path: Path):
    from recovery import services

    return services.create_backup_target(
        name="shop-db", dsn_env=SRC_ENV, directory=str(tmp_path / "backups"), smoke_queries=DJANGO_SMOKE,
        actor=system_user, reason="test fixture",
    )


@pytest.fixture
def no_leftover_rec2_shadows() -> Iterator[None]:
    before = rec2_shadow_databases()
    yield
    assert rec2_shadow_databases() - before == set(), "a drill left its shadow database behind"


def rec2_shadow_databases() -> set[str]:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'gov\\_rec2\\_shadow\\_%'").fetchall()
    return {r[0] for r in rows}
