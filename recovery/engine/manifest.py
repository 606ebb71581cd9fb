"""Backup manifests: per-table row counts and content checksums, plus the dump file's digest."""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

FORMAT_VERSION = 1

# Row text depends on these session settings (a timestamptz prints differently in another time zone,
# a float with other extra_float_digits), so the backup and the drill both hash under the same values.
PINNED_SETTINGS: dict[str, str] = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
    "lc_monetary": "C",
    "search_path": "pg_catalog",
}

# Constant memory and no sort: a sum of 64-bit hashes of each row's text is order-independent, so the
# same rows in any physical order give the same checksum; the row count guards against cancelling pairs.
# md5 (the example) is portable everywhere but was 1.7x a bare dump+restore in bench/drill.py;
# PostgreSQL's own hashtextextended (the hash behind hash partitioning, so kept stable across major
# versions) halves the hashing cost but differs between little- and big-endian machines, and works
# where md5() is refused (FIPS mode). The manifest names its algorithm and the drill verifies with it.
CHECKSUM_EXPRESSIONS: dict[str, str] = {
    "md5-prefix64": "('x' || substr(md5(ROW(r.*)::text), 1, 16))::bit(64)::bigint",
    "hashtext64": "hashtextextended(ROW(r.*)::text, 0)",
}
DEFAULT_CHECKSUM_ALGORITHM = "hashtext64"


_TABLES_SQL = """
SELECT n.nspname, c.relname, c.relpages::bigint
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND c.relpersistence <> 't'
  AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""


@dataclass
class TableChecksum:
    schema: str
    name: str
    rows: int
    checksum: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class DumpFile:
    file_name: str
    sha256: str
    size_bytes: int


@dataclass
class Manifest:
    database: str
    server_version: str
    snapshot_id: str
    taken_at: str
    tables: list[TableChecksum]
    dump: DumpFile | None = None
    settings: dict[str, str] = field(default_factory=lambda: dict(PINNED_SETTINGS))
    checksum_algorithm: str = DEFAULT_CHECKSUM_ALGORITHM
    format_version: int = FORMAT_VERSION

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def table(self, schema: str, name: str) -> TableChecksum | None:
        return next((t for t in self.tables if (t.schema, t.name) == (schema, name)), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported manifest format_version {version!r}")
        tables = [TableChecksum(**t) for t in data["tables"]]
        dump = DumpFile(**data["dump"]) if data.get("dump") else None
        rest = {k: v for k, v in data.items() if k not in ("tables", "dump")}
        return cls(tables=tables, dump=dump, **rest)

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json() + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def apply_settings(conn: psycopg.Connection, settings: dict[str, str]) -> None:
    for name, value in settings.items():
        conn.execute("SELECT pg_catalog.set_config(%s, %s, false)", (name, value))


def list_tables(conn: psycopg.Connection) -> list[tuple[str, str, int]]:
    """User tables whose data pg_dump writes: (schema, name, pages), excluding extension-owned ones."""
    return [(s, n, int(p)) for s, n, p in conn.execute(_TABLES_SQL).fetchall()]


def checksum_query(algorithm: str) -> str:
    try:
        expression = CHECKSUM_EXPRESSIONS[algorithm]
    except KeyError:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}; known: {', '.join(CHECKSUM_EXPRESSIONS)}")
    # sum(bigint) accumulates in 128-bit integers and returns numeric, so no overflow and no numeric adds.
    return f"SELECT count(*), coalesce(sum({expression}), 0)::text FROM {{table}} AS r"


def checksum_table(
    conn: psycopg.Connection, schema: str, name: str, algorithm: str = DEFAULT_CHECKSUM_ALGORITHM
) -> TableChecksum:
    # a composed query, built only from CHECKSUM_EXPRESSIONS and quoted identifiers
    query = sql.SQL(checksum_query(algorithm)).format(
        table=sql.Identifier(schema, name)
    )
    row = conn.execute(query).fetchone()
    assert row is not None
    return TableChecksum(schema=schema, name=name, rows=int(row[0]), checksum=str(row[1]))


TableResult = TableChecksum | Exception


def checksum_tables(
    sessions: Sequence[psycopg.Connection],
    tables: Sequence[tuple[str, str, int]],
    algorithm: str = DEFAULT_CHECKSUM_ALGORITHM,
) -> dict[tuple[str, str], TableResult]:
    """Checksum tables over several sessions at once, biggest first; one session serves one thread.

    A failure is returned in place of that table's result so that the caller decides whether it is
    fatal (taking a backup) or a finding (verifying a shadow copy). In a transaction the first error
    aborts it, so a session that failed takes no more work.
    """
    checksum_query(algorithm)  # an unknown algorithm fails here, once, rather than once per table
    work: queue.Queue[tuple[str, str]] = queue.Queue()
    for schema, name, _pages in sorted(tables, key=lambda t: -t[2]):
        work.put((schema, name))
    results: dict[tuple[str, str], TableResult] = {}
    lock = threading.Lock()

    def worker(conn: psycopg.Connection) -> None:
        while True:
            try:
                key = work.get_nowait()
            except queue.Empty:
                return
            try:
                outcome: TableResult = checksum_table(conn, *key, algorithm)
            except Exception as exc:  # noqa: BLE001 - reported per table, see docstring
                outcome = exc
            with lock:
                results[key] = outcome
            if isinstance(outcome, Exception) and not conn.autocommit:
                return

    threads = [threading.Thread(target=worker, args=(conn,), daemon=True) for conn in sessions[1:]]
    for thread in threads:
        thread.start()
    worker(sessions[0])
    for thread in threads:
        thread.join()
    # Tables left unprocessed because every session failed are reported, not silently dropped.
    while not work.empty():
        key = work.get_nowait()
        results[key] = RuntimeError("not checksummed: every session failed earlier")
    return results


def connect(dsn: str, *, statement_timeout_ms: int | None = None, connect_timeout: int = 10) -> psycopg.Connection:
    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout)
    if statement_timeout_ms is not None:
        conn.execute("SELECT pg_catalog.set_config('statement_timeout', %s, false)", (str(int(statement_timeout_ms)),))
    return conn
