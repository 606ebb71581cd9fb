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
