"""The verification layers of a restore: the backup file's integrity, row counts and checksums against the
manifest, and the smoke queries; also `verify_database`, the same checks on a database restored for real.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import psycopg

from governance import sql_rules
from recovery.engine import pgtools
from recovery.engine.evidence import FAIL, PASS, SKIPPED, Verdict
from recovery.engine.manifest import (
    Manifest,
    TableChecksum,
    apply_settings,
    checksum_tables,
    connect,
    list_tables,
    sha256_file,
)
from recovery.engine.restore.plan import SmokeQuery, _as_smoke, _Deadline


def _check_integrity(dump_path: Path, manifest: Manifest) -> Verdict:
    if manifest.dump is None:
        return Verdict("integrity", FAIL, f"manifest records no digest for {dump_path.name}", [str(dump_path)])
    if not dump_path.is_file():
        return Verdict("integrity", FAIL, f"backup file {dump_path} is missing", [f"{dump_path}: file not found"])
    problems = []
    size = dump_path.stat().st_size
    if size != manifest.dump.size_bytes:
        problems.append(f"{dump_path}: size {size} bytes, manifest says {manifest.dump.size_bytes}")
    digest = sha256_file(dump_path)
    if digest != manifest.dump.sha256:
        problems.append(f"{dump_path}: sha256 {digest} does not match manifest {manifest.dump.sha256}")
    if problems:
        return Verdict("integrity", FAIL, f"backup file {dump_path.name} is damaged", problems)
    return Verdict("integrity", PASS, f"{dump_path.name}: sha256 and size match the manifest")


def _verify_tables(
    manifest: Manifest,
    shadow_dsn: str,
    workers: int,
    statement_timeout: float,
    deadline: _Deadline,
    label: str = "shadow",
) -> tuple[Verdict, Verdict]:
    sessions: list[psycopg.Connection] = []
    try:
        for _ in range(max(1, min(workers, len(manifest.tables) or 1))):
            conn = connect(shadow_dsn, statement_timeout_ms=deadline.statement_timeout_ms(statement_timeout))
            sessions.append(conn)
            apply_settings(conn, manifest.settings)
        present = {(s, n): pages for s, n, pages in list_tables(sessions[0])}
        expected = {(t.schema, t.name): t for t in manifest.tables}
        to_check = [(s, n, present[(s, n)]) for s, n in expected if (s, n) in present]
        results = checksum_tables(sessions, to_check, manifest.checksum_algorithm)
    finally:
        for conn in sessions:
            conn.close()

    count_problems: list[str] = []
    sum_problems: list[str] = []
    for key, want in sorted(expected.items()):
        name = want.qualified
        if key not in present:
            count_problems.append(f"{name}: table missing in the {label} database (manifest has {want.rows} rows)")
            sum_problems.append(f"{name}: table missing in the {label} database, no checksum to compare")
            continue
        got = results[key]
        if isinstance(got, Exception):
            message = str(got).strip().splitlines()[0] if str(got).strip() else type(got).__name__
            count_problems.append(f"{name}: count query failed: {message}")
            sum_problems.append(f"{name}: checksum query failed: {message}")
            continue
        assert isinstance(got, TableChecksum)
        if got.rows != want.rows:
            count_problems.append(f"{name}: row count mismatch: manifest {want.rows}, {label} {got.rows}")
        if got.checksum != want.checksum or got.rows != want.rows:
            sum_problems.append(f"{name}: checksum mismatch: manifest {want.checksum}, {label} {got.checksum}")
    for schema, table in sorted(set(present) - set(expected)):
        count_problems.append(f"{schema}.{table}: table in the {label} database but not in the manifest")

    n = len(expected)
    counts = (
        Verdict("row_counts", FAIL, f"{len(count_problems)} problem(s) over {n} table(s)", count_problems)
        if count_problems
        else Verdict("row_counts", PASS, f"{n} table(s), {manifest.total_rows} row(s): counts match the manifest")
    )
    sums = (
        Verdict("checksums", FAIL, f"{len(sum_problems)} table(s) differ from the manifest", sum_problems)
        if sum_problems
        else Verdict("checksums", PASS, f"{n} table(s): content checksums match the manifest")
    )
    return counts, sums


def _smoke(queries: Sequence[SmokeQuery], shadow_dsn: str, statement_timeout: float, deadline: _Deadline) -> Verdict:
    if not queries:
        return Verdict("smoke_queries", SKIPPED, "no smoke queries configured")
    problems: list[str] = []
    with connect(shadow_dsn) as conn:
        for query in queries:
            try:
                sql_rules.check_select(query.sql)  # again at run time: the configuration may predate the rules
            except sql_rules.SqlRefused as exc:
                problems.append(f"{query.name}: refused by the SQL rules: {exc}")
                continue
            try:
                conn.execute(
                    "SELECT pg_catalog.set_config('statement_timeout', %s, false)",
                    (str(deadline.statement_timeout_ms(statement_timeout)),),
                )
                # Not as the drill's administrative user: each query runs as a throwaway role that may only read
                # (pg_read_all_data), in a read-only transaction that is rolled back (so one cannot change what the
                # next sees), as one prepared statement.
                with sql_rules.read_only(conn, read_all=True, require_role=True):
                    row = sql_rules.run_one(conn, query.sql).fetchone()
                value = None if row is None or len(row) == 0 else row[0]
                if not value:
                    problems.append(f"{query.name}: returned {value!r} (needs true or non-zero)")
            except pgtools.StepTimeout:
                raise
            except Exception as exc:  # noqa: BLE001 - an erroring smoke query is a finding, not a crash
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                problems.append(f"{query.name}: error: {first}")
    if problems:
        return Verdict("smoke_queries", FAIL, f"{len(problems)} of {len(queries)} smoke queries failed", problems)
    return Verdict("smoke_queries", PASS, f"{len(queries)} smoke queries returned a true/non-zero value")


def verify_database(
    *,
    dsn: str,
    manifest: Manifest,
    smoke_queries: Sequence[SmokeQuery | str] = (),
    workers: int = 2,
    statement_timeout_seconds: float = 15 * 60,
    timeout_seconds: float = 4 * 3600,
) -> list[Verdict]:
    """Check an existing database (e.g. after a real restore) against a manifest: counts, checksums, smoke."""
    deadline = _Deadline(timeout_seconds)
    smoke = [_as_smoke(q, i) for i, q in enumerate(smoke_queries)]
    verdicts: list[Verdict] = []
    t0 = time.monotonic()
    counts, sums = _verify_tables(manifest, dsn, workers, statement_timeout_seconds, deadline, label="restored")
    counts.seconds = sums.seconds = round(time.monotonic() - t0, 4)
    verdicts += [counts, sums]
    t0 = time.monotonic()
    smoke_verdict = _smoke(smoke, dsn, statement_timeout_seconds, deadline)
    smoke_verdict.seconds = round(time.monotonic() - t0, 4)
    return [*verdicts, smoke_verdict]
