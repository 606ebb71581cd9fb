"""Restore drills: restore a backup into a throwaway shadow database and verify it layer by layer."""

from __future__ import annotations

import contextlib
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from governance import sql_rules
from recovery.engine import pgtools
from recovery.engine.backup import load_backup, pg_tool_version
from recovery.engine.evidence import (
    FAIL,
    PASS,
    SKIPPED,
    Phase,
    PhaseClock,
    Verdict,
    format_seconds,
    iso,
    utc_now,
    verdict_rows,
)
from recovery.engine.manifest import (
    Manifest,
    TableChecksum,
    apply_settings,
    checksum_tables,
    connect,
    list_tables,
    sha256_file,
)

# Recovery time objectives in seconds: critical services back within 15 minutes, everything within 4 hours.
DEFAULT_OBJECTIVES: dict[str, float] = {"critical": 15 * 60, "full": 4 * 3600}

LAYERS = ("integrity", "restore", "row_counts", "checksums", "smoke_queries", "recovery_time")

_PREFIX_RE = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


@dataclass
class SmokeQuery:
    """SQL returning one value; a false, zero, NULL or missing value, or an error, fails the drill."""

    name: str
    sql: str


@dataclass
class ObjectiveCheck:
    name: str
    target_seconds: float
    measured_seconds: float
    met: bool


@dataclass
class RestoreDrillEvidence:
    """Everything a restore drill did and found; `report_markdown` renders the same for people."""

    drill_id: str
    passed: bool
    backup_file: str
    backup_sha256: str
    backup_size_bytes: int
    source_database: str
    backup_taken_at: str
    shadow_database: str
    shadow_dropped: bool
    started_at: str
    finished_at: str
    recovery_seconds: float
    total_seconds: float
    objective: str
    objectives: list[ObjectiveCheck]
    verdicts: list[Verdict]
    phases: list[Phase]
    tables: int
    rows: int
    tampered: bool
    options: dict[str, object]
    pg_restore_version: str
    cleanup_error: str = ""
    report_markdown: str = ""

    def verdict(self, layer: str) -> Verdict:
        return next(v for v in self.verdicts if v.layer == layer)


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0

    def statement_timeout_ms(self, cap_seconds: float) -> int:
        left = self.left()
        if left <= 0:
            raise pgtools.StepTimeout(f"overall drill timeout of {format_seconds(self.total)} reached")
        return max(1, int(min(cap_seconds, left) * 1000))


def _as_smoke(query: SmokeQuery | str, index: int) -> SmokeQuery:
    return query if isinstance(query, SmokeQuery) else SmokeQuery(name=f"smoke #{index + 1}", sql=query)


def _shadow_name(prefix: str) -> str:
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"shadow prefix {prefix!r} must be a short lowercase identifier")
    return f"{prefix}_shadow_{secrets.token_hex(4)}"


def _drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        # FORCE ends sessions still attached (pg_restore workers after a kill, a tamper hook's leftovers).
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_exists(admin_dsn: str, name: str) -> bool:
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


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


def _restore(
    dump_path: Path, admin_dsn: str, shadow: str, jobs: int, deadline: _Deadline, extra_args: Sequence[str]
) -> Verdict:
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(shadow)))
    client = pgtools.client_connection(admin_dsn, dbname=shadow)
    argv = [
        pgtools.find_binary("pg_restore"),
        f"--dbname={client.conninfo}",
        f"--jobs={max(1, jobs)}",
        "--no-password",
        *extra_args,
        str(dump_path),
    ]
    # Without --exit-on-error pg_restore goes on after a failed statement, so the layers below
    # can still name every table the failure left missing.
    done = pgtools.run(argv, timeout=deadline.left(), env=client.env, check=False)
    if done.returncode != 0:
        errors = [line.strip() for line in done.stderr.splitlines() if "error" in line.lower()]
        return Verdict(
            "restore", FAIL, f"pg_restore exited with {done.returncode}", errors[:50] or [done.stderr[-2000:]]
        )
    return Verdict("restore", PASS, f"pg_restore into {shadow} succeeded ({max(1, jobs)} jobs)")


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


def run_restore_drill(
    *,
    dump_path: Path,
    admin_dsn: str,
    manifest: Manifest | None = None,
    shadow_prefix: str = "gov",
    smoke_queries: Sequence[SmokeQuery | str] = (),
    objective: str = "critical",
    objectives: Mapping[str, float] = DEFAULT_OBJECTIVES,
    statement_timeout_seconds: float = 15 * 60,
    timeout_seconds: float = 4 * 3600,
    restore_jobs: int = 2,
    verify_workers: int = 2,
    restore_args: Sequence[str] = (),
    tamper: Callable[[str], None] | None = None,
) -> RestoreDrillEvidence:
    """Restore `dump_path` into a fresh shadow database on the server of `admin_dsn` and verify it.

    Only the backup file and its manifest are read (the manifest beside the file unless given);
    the source database is never contacted. The shadow database is dropped in every case.
    `tamper(shadow_dsn)` runs after the restore and before verification (a test hook for damage).
    """
    if objective not in objectives:
        raise ValueError(f"unknown objective {objective!r}; configured: {', '.join(objectives)}")
    dump_path = Path(dump_path)
    drill_id = uuid.uuid4().hex
    started = time.monotonic()
    started_at = iso(utc_now())
    deadline = _Deadline(timeout_seconds)
    clock = PhaseClock()
    smoke = [_as_smoke(q, i) for i, q in enumerate(smoke_queries)]
    verdicts: dict[str, Verdict] = {}
    shadow = _shadow_name(shadow_prefix)
    shadow_dsn = pgtools.dsn_with_database(admin_dsn, shadow)
    shadow_dropped = False
    cleanup_error = ""
    recovery_seconds = 0.0
    load_error = ""

    if manifest is None:
        try:
            _, manifest = load_backup(dump_path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            load_error = f"manifest for {dump_path.name} cannot be read: {exc}"
    empty = Manifest(database="?", server_version="?", snapshot_id="", taken_at="", tables=[])
    known = manifest or empty

    skip_reason = ""

    def layer(names: tuple[str, ...], body: Callable[[], Verdict | tuple[Verdict, ...]]) -> None:
        """Run one layer, timing it; a timeout or crash becomes that layer's failed verdict."""
        nonlocal skip_reason
        if deadline.expired():
            skip_reason = f"not run: overall timeout of {format_seconds(timeout_seconds)} reached"
            for name in names:
                verdicts[name] = Verdict(name, FAIL, skip_reason)
            return
        t0 = time.monotonic()
        try:
            with clock.phase(names[0]):
                outcome = body()
        except pgtools.StepTimeout as exc:
            skip_reason = f"not run: {names[0]} timed out"
            outcome = tuple(Verdict(name, FAIL, f"timed out: {exc}") for name in names)
        except Exception as exc:  # noqa: BLE001 - every layer must leave a verdict
            # A crash is not a finding: what depends on this layer (the tamper hook, verification) is skipped.
            skip_reason = f"not run: {names[0]} failed with an error"
            outcome = tuple(Verdict(name, FAIL, f"{type(exc).__name__}: {str(exc).strip()[:500]}") for name in names)
        for v in outcome if isinstance(outcome, tuple) else (outcome,):
            v.seconds = round(time.monotonic() - t0, 4)
            verdicts[v.layer] = v

    try:
        if load_error:
            verdicts["integrity"] = Verdict("integrity", FAIL, load_error, [load_error])
        else:
            layer(("integrity",), lambda: _check_integrity(dump_path, known))
        if not verdicts["integrity"].passed:
            # A damaged file proves nothing when restored: the later layers are not run.
            skip_reason = "not run: the backup file failed its integrity check"
        else:
            layer(("restore",), lambda: _restore(dump_path, admin_dsn, shadow, restore_jobs, deadline, restore_args))
            if not skip_reason:
                if tamper is not None:
                    with clock.phase("tamper"):
                        tamper(shadow_dsn)
                layer(
                    ("row_counts", "checksums"),
                    lambda: _verify_tables(known, shadow_dsn, verify_workers, statement_timeout_seconds, deadline),
                )
                layer(("smoke_queries",), lambda: _smoke(smoke, shadow_dsn, statement_timeout_seconds, deadline))
        recovery_seconds = round(time.monotonic() - started, 4)
    finally:
        with clock.phase("cleanup"):
            for attempt in range(3):
                try:
                    _drop_database(admin_dsn, shadow)
                    shadow_dropped = not database_exists(admin_dsn, shadow)
                    cleanup_error = "" if shadow_dropped else f"{shadow} still exists after DROP"
                    if shadow_dropped:
                        break
                except Exception as exc:  # noqa: BLE001 - retried, then reported in the evidence
                    cleanup_error = f"{type(exc).__name__}: {exc}"
                time.sleep(0.5 * (attempt + 1))

    for name in LAYERS[:-1]:
        verdicts.setdefault(name, Verdict(name, SKIPPED, skip_reason or "not run"))

    data_ok = all(verdicts[name].status != FAIL for name in LAYERS[:-1])
    checks = [
        ObjectiveCheck(name, float(target), recovery_seconds, data_ok and recovery_seconds <= target)
        for name, target in objectives.items()
    ]
    target = float(objectives[objective])
    if not data_ok:
        verdicts["recovery_time"] = Verdict(
            "recovery_time", SKIPPED, f"no verified recovery to time (ran {format_seconds(recovery_seconds)})"
        )
    else:
        met = recovery_seconds <= target
        verdicts["recovery_time"] = Verdict(
            "recovery_time",
            PASS if met else FAIL,
            f"verified recovery in {format_seconds(recovery_seconds)} against the {objective} objective of "
            f"{format_seconds(target)}: {'met' if met else 'MISSED'}",
            seconds=recovery_seconds,
        )
    ordered = [verdicts[name] for name in LAYERS]
    passed = data_ok and verdicts["recovery_time"].passed and shadow_dropped
    evidence = RestoreDrillEvidence(
        drill_id=drill_id,
        passed=passed,
        backup_file=str(dump_path),
        backup_sha256=known.dump.sha256 if known.dump else "",
        backup_size_bytes=known.dump.size_bytes if known.dump else 0,
        source_database=known.database,
        backup_taken_at=known.taken_at,
        shadow_database=shadow,
        shadow_dropped=shadow_dropped,
        started_at=started_at,
        finished_at=iso(utc_now()),
        recovery_seconds=recovery_seconds,
        total_seconds=round(time.monotonic() - started, 4),
        objective=objective,
        objectives=checks,
        verdicts=ordered,
        phases=clock.phases,
        tables=len(known.tables),
        rows=known.total_rows,
        tampered=tamper is not None,
        options={
            "restore_jobs": restore_jobs,
            "verify_workers": verify_workers,
            "statement_timeout_seconds": statement_timeout_seconds,
            "timeout_seconds": timeout_seconds,
            "smoke_queries": [q.name for q in smoke],
            "restore_args": list(restore_args),
        },
        pg_restore_version=_safe_version(),
        cleanup_error=cleanup_error,
    )
    evidence.report_markdown = render_restore_report(evidence)
    return evidence


def _safe_version() -> str:
    with contextlib.suppress(Exception):
        return pg_tool_version("pg_restore")
    return "unknown"


def render_restore_report(ev: RestoreDrillEvidence) -> str:
    """The drill as a Markdown page: what was restored, when, how long each phase took, every verdict."""
    outcome = "PASSED" if ev.passed else "FAILED"
    lines = [
        f"# Restore drill {outcome}: {ev.source_database} from {Path(ev.backup_file).name}",
        "",
        f"- Drill `{ev.drill_id}` ran from {ev.started_at} to {ev.finished_at} ({format_seconds(ev.total_seconds)}).",
        f"- Backup: `{ev.backup_file}` ({ev.backup_size_bytes} bytes, sha256 `{ev.backup_sha256 or 'unknown'}`),"
        f" taken {ev.backup_taken_at or 'at an unknown time'} from database `{ev.source_database}`.",
        f"- Manifest: {ev.tables} table(s), {ev.rows} row(s).",
        f"- Restored into shadow database `{ev.shadow_database}`, which was "
        + ("dropped afterwards." if ev.shadow_dropped else f"**NOT dropped** ({ev.cleanup_error}): drop it by hand."),
        f"- Recovery time: {format_seconds(ev.recovery_seconds)}; objective `{ev.objective}`.",
    ]
    if ev.tampered:
        lines.append("- A tamper hook altered the shadow copy before verification (a damage test).")
    lines += ["", "## Verdicts", "", *verdict_rows(ev.verdicts)]
    lines += ["", "## Phases", "", "| phase | started | took |", "|---|---|---|"]
    lines += [f"| {p.name} | {p.started_at} | {format_seconds(p.seconds)} |" for p in ev.phases]
    lines += ["", "## Recovery time objectives", "", "| objective | target | measured | met |", "|---|---|---|---|"]
    lines += [
        f"| {o.name} | {format_seconds(o.target_seconds)} | {format_seconds(o.measured_seconds)} | {'yes' if o.met else 'no'} |"
        for o in ev.objectives
    ]
    lines += ["", f"Tools: {ev.pg_restore_version}."]
    return "\n".join(lines) + "\n"
