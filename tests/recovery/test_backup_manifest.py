"""Backups: the manifest describes exactly the rows in the dump, whatever the session settings."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from recovery.engine import pgtools
from recovery.engine.backup import BackupInfo, load_backup, take_backup
from recovery.engine.manifest import DEFAULT_CHECKSUM_ALGORITHM, PINNED_SETTINGS, Manifest
from tests.recovery.helpers import ADMIN_DSN, create_database, drop_database

# Written independently of the engine's SQL: the md5 form is the one the issue specifies.
INDEPENDENT_CHECKSUM = {
    "md5-prefix64": "SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint::numeric), 0)"
    "::text FROM {} t",
    "hashtext64": "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text FROM {} t",
}
EXPECTED_ROWS = {
    ("public", "customers"): 200,
    ("public", "orders"): 500,
    ("Audit", "Event Log"): 50,
    ("public", "empty_table"): 0,
}


def restore_copy(dump_path: str) -> str:
    name = f"gov_rec_chk_{secrets.token_hex(4)}"
    create_database(name)
    dsn = pgtools.dsn_with_database(ADMIN_DSN, name)
    pgtools.run([pgtools.find_binary("pg_restore"), "-d", dsn, dump_path], timeout=120)
    return name


def independent_checksums(
    dsn: str, settings: dict[str, str] | None, algorithm: str = DEFAULT_CHECKSUM_ALGORITHM
) -> dict[tuple[str, str], tuple[int, str]]:
    out = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, value in (settings or {}).items():
            conn.execute("SELECT set_config(%s, %s, false)", (name, value))
        for schema, table in EXPECTED_ROWS:
            row = conn.execute(
                sql.SQL(INDEPENDENT_CHECKSUM[algorithm]).format(sql.Identifier(schema, table))
            ).fetchone()
            assert row is not None
            out[(schema, table)] = (int(row[0]), row[1])
    return out


def manifest_sums(manifest: Manifest) -> dict[tuple[str, str], tuple[int, str]]:
    return {(t.schema, t.name): (t.rows, t.checksum) for t in manifest.tables}


@pytest.mark.parametrize("algorithm", ["md5-prefix64", "hashtext64"])
def test_backup__manifest_matches_an_independent_restore_of_the_file(
    source_dsn: str, tmp_path: Path, algorithm: str
) -> None:
    backup = take_backup(dsn=source_dsn, directory=tmp_path, checksum_algorithm=algorithm)

    name = restore_copy(backup.path)
    try:
        restored = independent_checksums(pgtools.dsn_with_database(ADMIN_DSN, name), PINNED_SETTINGS, algorithm)
    finally:
        drop_database(name)

    assert backup.manifest.checksum_algorithm == algorithm
    assert manifest_sums(backup.manifest) == restored
    assert {k: v[0] for k, v in restored.items()} == EXPECTED_ROWS
    data = Path(backup.path).read_bytes()
    assert backup.manifest.dump is not None
    assert backup.sha256 == backup.manifest.dump.sha256 == hashlib.sha256(data).hexdigest()
    assert backup.size_bytes == backup.manifest.dump.size_bytes == len(data)


def test_write_committed_after_the_snapshot__is_in_neither_manifest_nor_dump(source_dsn: str, tmp_path: Path) -> None:
    def concurrent_writer() -> None:
        with psycopg.connect(source_dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO orders SELECT g, 1, 9.99, now(), 'late' FROM generate_series(1001, 1007) g")
            conn.execute("UPDATE customers SET name = 'renamed' WHERE id = 3")

    info = take_backup(dsn=source_dsn, directory=tmp_path, after_snapshot=concurrent_writer)

    name = restore_copy(info.path)
    try:
        restored = independent_checksums(pgtools.dsn_with_database(ADMIN_DSN, name), PINNED_SETTINGS)
    finally:
        drop_database(name)
    live = independent_checksums(source_dsn, PINNED_SETTINGS)
    assert manifest_sums(info.manifest) == restored
    assert restored[("public", "orders")][0] == 500
    assert live[("public", "orders")][0] == 507
    assert live[("public", "customers")][1] != restored[("public", "customers")][1]


def test_source_database_with_other_time_zone_and_styles__checksums_unchanged(source_dsn: str, tmp_path: Path) -> None:
    before = take_backup(dsn=source_dsn, directory=tmp_path / "a")
    dbname = pgtools.database_name(source_dsn)
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        for setting, value in (("TimeZone", "Asia/Kolkata"), ("DateStyle", "SQL, DMY"), ("extra_float_digits", "0")):
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(dbname), sql.Identifier(setting), sql.Literal(value)
                )
            )

    after = take_backup(dsn=source_dsn, directory=tmp_path / "b")

    assert manifest_sums(after.manifest) == manifest_sums(before.manifest)
    # Unpinned, the same rows hash differently under the database's own settings.
    unpinned = independent_checksums(source_dsn, None)
    assert unpinned[("public", "customers")] != manifest_sums(after.manifest)[("public", "customers")]


def test_backup__record_is_json_ready_and_files_sit_side_by_side(backup: BackupInfo) -> None:
    record = json.loads(json.dumps(asdict(backup)))

    assert {p["name"] for p in record["phases"]} == {"snapshot", "manifest", "dump", "sha256"}
    assert all(p["seconds"] >= 0 for p in record["phases"])
    assert record["tables"] == 4 and record["rows"] == 750
    dump_path, manifest = load_backup(Path(backup.path))
    assert manifest == backup.manifest
    assert Path(backup.manifest_path).is_file()
    assert sorted(p.name for p in dump_path.parent.iterdir()) == sorted(
        [Path(backup.path).name, Path(backup.manifest_path).name]
    )
