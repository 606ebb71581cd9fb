"""Backups: pg_dump (custom format) and its manifest, both taken under one exported snapshot."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql

from recovery.engine import pgtools
from recovery.engine.evidence import Phase, iso, utc_now
from recovery.engine.manifest import (
    DEFAULT_CHECKSUM_ALGORITHM,
    PINNED_SETTINGS,
    DumpFile,
    Manifest,
    TableChecksum,
    apply_settings,
    checksum_query,
    checksum_tables,
    connect,
    list_tables,
    sha256_file,
)

DUMP_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"


@dataclass
class BackupInfo:
    """What the portal stores about one backup; `manifest` is also written next to the dump file."""

    backup_id: str
    database: str
    path: str
    manifest_path: str
    created_at: str
    size_bytes: int
    sha256: str
    seconds: float
    phases: list[Phase]
    tables: int
    rows: int
    pg_dump_version: str
    manifest: Manifest


@functools.cache
def pg_tool_version(name: str) -> str:
    return pgtools.run([pgtools.find_binary(name), "--version"], timeout=30).stdout.strip()


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "db"


def _open_snapshot_session(dsn: str, snapshot_id: str, statement_timeout_ms: int) -> psycopg.Connection:
    conn = connect(dsn, statement_timeout_ms=statement_timeout_ms)
    try:
        apply_settings(conn, PINNED_SETTINGS)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_id)))
    except BaseException:
        conn.close()
        raise
    return conn


def take_backup(
    *,
    dsn: str,
    directory: Path,
    timeout_seconds: float = 4 * 3600,
    checksum_workers: int = 2,
    compress: str | None = None,
    checksum_algorithm: str = DEFAULT_CHECKSUM_ALGORITHM,
    after_snapshot: Callable[[], None] | None = None,
) -> BackupInfo:
    """Dump the database at `dsn` into `directory` and write its manifest beside it.

    The manifest is computed inside the transaction that exported the snapshot pg_dump uses, so
    the counts and checksums describe exactly the rows in the file, even under concurrent writes.
    `after_snapshot` runs right after the snapshot is taken (a test hook for concurrent writes).
    """
    checksum_query(checksum_algorithm)
    deadline = time.monotonic() + timeout_seconds
    started = time.monotonic()
    started_at = utc_now()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    phases: list[Phase] = []

    def remaining_ms() -> int:
        left = deadline - time.monotonic()
        if left <= 0:
            raise pgtools.StepTimeout(f"backup did not finish within {timeout_seconds:.0f}s")
        return max(1, int(left * 1000))

    sessions: list[psycopg.Connection] = []
    dump_proc: subprocess.Popen[str] | None = None
    tmp_path: Path | None = None
    try:
        t0 = time.monotonic()
        main = connect(dsn, statement_timeout_ms=remaining_ms())
        sessions.append(main)
        apply_settings(main, PINNED_SETTINGS)
        # The exporter idles while pg_dump finishes; a server-wide idle timeout must not end it early.
        main.execute("SELECT pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false)")
        main.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        row = main.execute(
            "SELECT pg_catalog.pg_export_snapshot(), pg_catalog.now(), pg_catalog.current_database(),"
            " pg_catalog.current_setting('server_version')"
        ).fetchone()
        assert row is not None
        snapshot_id, snapshot_time, database, server_version = row
        tables = list_tables(main)
        if tables:
            # Same lock pg_dump takes: nobody can drop or rewrite a table between our read and its read.
            main.execute(
                sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(
                    sql.SQL(", ").join(sql.Identifier(s, n) for s, n, _ in tables)
                )
            )
        phases.append(Phase("snapshot", round(time.monotonic() - t0, 4), iso(started_at)))
        if after_snapshot is not None:
            after_snapshot()

        stem = f"{_safe_name(database)}-{snapshot_time.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
        final_path = directory / f"{stem}{DUMP_SUFFIX}"
        manifest_path = directory / f"{stem}{MANIFEST_SUFFIX}"
        tmp_path = directory / f".{stem}{DUMP_SUFFIX}.partial"
        client = pgtools.client_connection(dsn)
        argv = [
            pgtools.find_binary("pg_dump"),
            "--format=custom",
            f"--snapshot={snapshot_id}",
            f"--file={tmp_path}",
            "--no-password",
            f"--dbname={client.conninfo}",
        ]
        if compress is not None:
            argv.append(f"--compress={compress}")
        dump_started_at = iso(utc_now())
        t_dump = time.monotonic()
        dump_proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **client.env},
            start_new_session=True,
        )

        # pg_dump reads the tables while we checksum them: both phases overlap on purpose.
        manifest_started_at = iso(utc_now())
        t_manifest = time.monotonic()
        for _ in range(max(0, min(checksum_workers, len(tables)) - 1)):
            sessions.append(_open_snapshot_session(dsn, snapshot_id, remaining_ms()))
        results = checksum_tables(sessions, tables, checksum_algorithm)
        failures = {k: v for k, v in results.items() if isinstance(v, Exception)}
        if failures:
            (schema, name), exc = next(iter(failures.items()))
            raise pgtools.EngineError(f"checksum of {schema}.{name} failed: {exc}")
        checksums = [v for _, v in sorted(results.items()) if isinstance(v, TableChecksum)]
        phases.append(Phase("manifest", round(time.monotonic() - t_manifest, 4), manifest_started_at))

        try:
            _, stderr = dump_proc.communicate(timeout=remaining_ms() / 1000)
        except subprocess.TimeoutExpired:
            raise pgtools.StepTimeout(f"pg_dump did not finish within {timeout_seconds:.0f}s")
        if dump_proc.returncode != 0:
            raise pgtools.EngineError(f"pg_dump exited with {dump_proc.returncode}: {stderr.strip()[-2000:]}")
        phases.append(Phase("dump", round(time.monotonic() - t_dump, 4), dump_started_at))
        for conn in sessions:
            conn.execute("COMMIT")

        t_sha = time.monotonic()
        sha_started_at = iso(utc_now())
        digest = sha256_file(tmp_path)
        size = tmp_path.stat().st_size
        phases.append(Phase("sha256", round(time.monotonic() - t_sha, 4), sha_started_at))

        manifest = Manifest(
            database=database,
            server_version=server_version,
            snapshot_id=snapshot_id,
            taken_at=iso(snapshot_time),
            tables=checksums,
            checksum_algorithm=checksum_algorithm,
            dump=DumpFile(file_name=final_path.name, sha256=digest, size_bytes=size),
        )
        tmp_path.replace(final_path)
        tmp_path = None
        manifest.save(manifest_path)
        return BackupInfo(
            backup_id=stem,
            database=database,
            path=str(final_path),
            manifest_path=str(manifest_path),
            created_at=iso(snapshot_time),
            size_bytes=size,
            sha256=digest,
            seconds=round(time.monotonic() - started, 4),
            phases=phases,
            tables=len(checksums),
            rows=manifest.total_rows,
            pg_dump_version=pg_tool_version("pg_dump"),
            manifest=manifest,
        )
    finally:
        if dump_proc is not None and dump_proc.poll() is None:
            pgtools.kill_group(dump_proc)
            dump_proc.wait()
        for conn in sessions:
            conn.close()
        if tmp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()


def load_backup(dump_path: Path) -> tuple[Path, Manifest]:
    """The dump file and the manifest that sits beside it (`<stem>.dump` + `<stem>.manifest.json`)."""
    dump_path = Path(dump_path)
    if not dump_path.name.endswith(DUMP_SUFFIX):
        raise ValueError(f"{dump_path} is not a {DUMP_SUFFIX} file")
    manifest_path = dump_path.with_name(dump_path.name[: -len(DUMP_SUFFIX)] + MANIFEST_SUFFIX)
    return dump_path, Manifest.load(manifest_path)


def list_backups(directory: Path) -> list[BackupInfo]:
    """Backups found in a directory, rebuilt from their manifests (timings are not kept on disk)."""
    found: list[BackupInfo] = []
    for manifest_path in sorted(Path(directory).glob(f"*{MANIFEST_SUFFIX}")):
        manifest = Manifest.load(manifest_path)
        stem = manifest_path.name[: -len(MANIFEST_SUFFIX)]
        dump_path = manifest_path.with_name(stem + DUMP_SUFFIX)
        found.append(
            BackupInfo(
                backup_id=stem,
                database=manifest.database,
                path=str(dump_path),
                manifest_path=str(manifest_path),
                created_at=manifest.taken_at,
                size_bytes=manifest.dump.size_bytes if manifest.dump else 0,
                sha256=manifest.dump.sha256 if manifest.dump else "",
                seconds=0.0,
                phases=[],
                tables=len(manifest.tables),
                rows=manifest.total_rows,
                pg_dump_version="",
                manifest=manifest,
            )
        )
    return found


class StoredFiles(Protocol):
    """Where a backup's files are: a BackupInfo, or the portal's Backup row."""

    path: str
    manifest_path: str


def delete_backup(backup: StoredFiles) -> None:
    """Remove a backup's dump and manifest (the manifest last, so a half-deleted backup stays listed)."""
    Path(backup.path).unlink(missing_ok=True)
    Path(backup.manifest_path).unlink(missing_ok=True)
