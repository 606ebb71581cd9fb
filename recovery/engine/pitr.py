"""Point-in-time recovery: replay a base backup plus archived WAL up to a target time, and drill it."""

from __future__ import annotations

import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

import psycopg

from recovery.engine import pgtools
from recovery.engine.cluster import PostgresServer, ThrowawayCluster, make_workdir
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

TARGET_NOT_REACHED = "recovery ended before configured recovery target was reached"
_FATAL_RE = re.compile(r"(?:FATAL|PANIC):\s+(.*)")
_LAST_TXN_RE = re.compile(r"last completed transaction was at log time (.+)")


@dataclass
class RecoveryOutcome:
    """How a recovery to a target time ended."""

    reached_target: bool
    target_time: str
    seconds: float
    last_replayed_at: str | None
    error: str
    log_tail: str


class RecoveredCluster:
    """A copy of a base backup, started in archive recovery towards a target time on a free port.

    Archiving is off in the copy, so it can never write into the production archive. The directory
    is deleted on exit. Use `recover()` and then query it through `dsn()` / `connect()`.
    """

    def __init__(
        self,
        *,
        base_backup: Path,
        archive_dir: Path,
        target_time: datetime,
        base_dir: Path | None = None,
        keep: bool = False,
    ) -> None:
        if target_time.tzinfo is None:
            raise ValueError("target_time must be timezone-aware")
        self.base_backup = Path(base_backup)
        self.archive_dir = Path(archive_dir)
        self.target_time = target_time
        self.base_dir = base_dir
        self.keep = keep
        self.root: Path | None = None
        self.server: PostgresServer | None = None

    def __enter__(self) -> RecoveredCluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def dsn(self, dbname: str = "postgres") -> str:
        assert self.server is not None
        return self.server.dsn(dbname)

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        assert self.server is not None
        return self.server.connect(dbname)

    def _prepare(self) -> PostgresServer:
        if not (self.base_backup / "PG_VERSION").is_file():
            raise pgtools.EngineError(f"{self.base_backup} is not a base backup (no PG_VERSION)")
        self.root = make_workdir("gov_rec_pitr_", self.base_dir)
        data_dir = self.root / "data"
        # Copy, so that the base backup stays pristine for the next drill or the real recovery.
        shutil.copytree(self.base_backup, data_dir, symlinks=True)
        for stale in ("postmaster.pid", "postmaster.opts", "standby.signal"):
            (data_dir / stale).unlink(missing_ok=True)
        (data_dir / "recovery.signal").touch()
        server = PostgresServer(self.root, data_dir, pgtools.free_port())
        server.write_settings(
            {
                "port": str(server.port),
                "listen_addresses": "127.0.0.1",
                "unix_socket_directories": str(self.root),
                "archive_mode": "off",
                "archive_command": "",
                "fsync": "off",
                "restore_command": f"cp {self.archive_dir}/%f %p",
                "recovery_target_time": iso(self.target_time),
                "recovery_target_timeline": "latest",
                # The default action, pause, would leave the drill waiting forever at the target.
                "recovery_target_action": "promote",
                "hot_standby": "on",
            }
        )
        pgtools.give_to_server_user(self.root)
        data_dir.chmod(0o700)
        return server

    def recover(self, *, timeout_seconds: float = 600) -> RecoveryOutcome:
        """Replay to the target; returns once promoted, or failed, or timed out (never hangs)."""
        started = time.monotonic()
        deadline = started + timeout_seconds
        self.server = server = self._prepare()
        server.start(timeout=max(1.0, min(60.0, timeout_seconds)), wait=False)
        error = ""
        reached = False
        last_replayed: str | None = None
        while True:
            log = server.log_text()
            if TARGET_NOT_REACHED in log:
                error = f"{TARGET_NOT_REACHED}: target {iso(self.target_time)} is beyond the archived WAL"
                if reach := _LAST_TXN_RE.search(log):
                    error += f" (the archive reaches the commit at {reach.group(1).strip()})"
                break
            if fatal := _startup_fatal(log):
                error = fatal
                break
            state = _recovery_state(server)
            if state is not None:
                in_recovery, replayed = state
                if not in_recovery:
                    reached = True
                    last_replayed = replayed
                    break
            elif not server.is_running() and "database system is shut down" in log:
                error = "server stopped during recovery: " + log.strip().splitlines()[-1][-500:]
                break
            if time.monotonic() >= deadline:
                error = f"recovery did not finish within {format_seconds(timeout_seconds)}"
                break
            time.sleep(0.1)
        if not reached:
            # A server stuck in recovery must not outlive the drill.
            server.stop(mode="immediate")
        return RecoveryOutcome(
            reached_target=reached,
            target_time=iso(self.target_time),
            seconds=round(time.monotonic() - started, 4),
            last_replayed_at=last_replayed,
            error=error,
            log_tail="\n".join(server.log_text().splitlines()[-40:]),
        )

    def close(self) -> None:
        if self.server is not None:
            self.server.stop(mode="immediate")
        if self.root is not None and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def _startup_fatal(log: str) -> str:
    """The first FATAL/PANIC that ends recovery; connection-level FATALs (e.g. "starting up") are not."""
    for line in log.splitlines():
        match = _FATAL_RE.search(line)
        if not match:
            continue
        message = match.group(1).strip()
        if "the database system is starting up" in message or "the database system is not yet accepting" in message:
            continue
        return message
    return ""


def _recovery_state(server: PostgresServer) -> tuple[bool, str | None] | None:
    try:
        with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=2) as conn:
            row = conn.execute("SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()").fetchone()
    except psycopg.Error:
        return None
    assert row is not None
    return bool(row[0]), iso(row[1]) if row[1] is not None else None


@dataclass
class PitrDrillEvidence:
    drill_id: str
    passed: bool
    started_at: str
    finished_at: str
    total_seconds: float
    target_time: str
    base_backup_at: str
    last_replayed_at: str | None
    achieved_rpo_seconds: float | None
    rows_before_target: int
    rows_after_target: int
    recovered_before_target: int | None
    recovered_after_target: int | None
    archived_segments: int
    verdicts: list[Verdict]
    phases: list[Phase]
    recovery_error: str
    recovery_log_tail: str
    cleaned_up: bool
    options: dict[str, object]
    report_markdown: str = ""

    def verdict(self, layer: str) -> Verdict:
        return next(v for v in self.verdicts if v.layer == layer)


PITR_LAYERS = ("base_backup", "wal_archive", "recovery", "rows_before_target", "rows_after_target", "rpo")

_PROBE_DDL = (
    "CREATE TABLE pitr_probe (id bigint PRIMARY KEY, phase text NOT NULL,"
    " written_at timestamptz NOT NULL DEFAULT clock_timestamp())"
)


def _write_rows(conn: psycopg.Connection, phase: str, first_id: int, count: int) -> None:
    # One commit per row: recovery stops between commits, so each row is its own test of the target.
    for i in range(first_id, first_id + count):
        conn.execute("INSERT INTO pitr_probe (id, phase) VALUES (%s, %s)", (i, phase))


def run_pitr_drill(
    *,
    target_time: datetime | None = None,
    rows_before: int = 20,
    rows_after: int = 20,
    rpo_objective_seconds: float | None = None,
    timeout_seconds: float = 300,
    base_dir: Path | None = None,
) -> PitrDrillEvidence:
    """Drill PITR end to end in throwaway clusters, needing nothing but PostgreSQL's programs.

    A primary with WAL archiving gets a base backup, then `rows_before` committed rows, then the
    target instant, then `rows_after` rows, all archived. A second cluster (archiving off, its own
    port) recovers the base backup to the target; the rows before must be there, the rows after
    must not. `target_time` overrides the target (e.g. one past the archive, which must fail).
    """
    drill_id = uuid.uuid4().hex
    started = time.monotonic()
    started_at = iso(utc_now())
    deadline = started + timeout_seconds
    clock = PhaseClock()
    verdicts: dict[str, Verdict] = {}
    base_backup_at = ""
    target = target_time
    archived = 0
    outcome: RecoveryOutcome | None = None
    counts: dict[str, int] = {}
    rpo: float | None = None
    cleaned = True
    clusters: list[ThrowawayCluster | RecoveredCluster] = []

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise pgtools.StepTimeout(f"PITR drill timeout of {format_seconds(timeout_seconds)} reached")
        return remaining

    try:
        primary = ThrowawayCluster(archive=True, base_dir=base_dir, timeout_seconds=min(120, left()))
        clusters.append(primary)
        with primary:
            assert primary.root is not None
            with primary.connect() as conn:
                conn.execute(_PROBE_DDL)
                _write_rows(conn, "base", 1, 10)
            base_dir_path = primary.root / "base"
            t0 = time.monotonic()
            with clock.phase("base_backup"):
                done = primary.base_backup(base_dir_path, timeout=left())
            base_backup_at = iso(utc_now())
            verdicts["base_backup"] = Verdict(
                "base_backup",
                PASS,
                f"pg_basebackup finished in {format_seconds(done.seconds)}",
                seconds=round(time.monotonic() - t0, 4),
            )

            with clock.phase("write_workload"), primary.connect() as conn:
                _write_rows(conn, "before", 1000, rows_before)
                # Commit timestamps have microsecond resolution; a gap keeps the target strictly between.
                time.sleep(0.05)
                row = conn.execute("SELECT clock_timestamp()").fetchone()
                assert row is not None
                computed_target: datetime = row[0]
                time.sleep(0.05)
                _write_rows(conn, "after", 100000, rows_after)
            target = target or computed_target

            t0 = time.monotonic()
            with clock.phase("archive_wal"):
                segment = primary.switch_wal_and_wait_archived(timeout=min(60, left()))
                archived = len([p for p in primary.archive_dir.iterdir() if len(p.name) == 24])
            verdicts["wal_archive"] = Verdict(
                "wal_archive",
                PASS,
                f"{archived} WAL segment(s) archived, last {segment}",
                seconds=round(time.monotonic() - t0, 4),
            )
            # The recovery must rely on the backup and the archive alone, not on a live primary.
            primary.running.stop(mode="fast", timeout=min(30, left()))

            recovered = RecoveredCluster(
                base_backup=base_dir_path, archive_dir=primary.archive_dir, target_time=target, base_dir=base_dir
            )
            clusters.append(recovered)
            with recovered:
                with clock.phase("recovery"):
                    outcome = recovered.recover(timeout_seconds=left())
                if outcome.reached_target:
                    verdicts["recovery"] = Verdict(
                        "recovery",
                        PASS,
                        f"recovered to {outcome.target_time} and promoted in {format_seconds(outcome.seconds)}",
                        seconds=outcome.seconds,
                    )
                    with clock.phase("verify"), recovered.connect() as conn:
                        for phase, n in conn.execute("SELECT phase, count(*) FROM pitr_probe GROUP BY phase"):
                            counts[str(phase)] = int(n)
                        row = conn.execute("SELECT max(written_at) FROM pitr_probe").fetchone()
                    last = outcome.last_replayed_at or (iso(row[0]) if row and row[0] else None)
                    if last is not None:
                        rpo = round((target - datetime.fromisoformat(last)).total_seconds(), 6)
                        outcome.last_replayed_at = last
                else:
                    verdicts["recovery"] = Verdict(
                        "recovery", FAIL, outcome.error, [outcome.error], seconds=outcome.seconds
                    )
    except pgtools.StepTimeout as exc:
        for layer in PITR_LAYERS:
            if layer not in verdicts:
                verdicts[layer] = Verdict(layer, FAIL, f"timed out: {exc}")
                break
    except Exception as exc:  # noqa: BLE001 - the drill reports, the caller stores the evidence
        for layer in PITR_LAYERS:
            if layer not in verdicts:
                verdicts[layer] = Verdict(layer, FAIL, f"{type(exc).__name__}: {str(exc)[:1000]}")
                break
    finally:
        cleaned = not any(c.root is not None and c.root.exists() for c in clusters)

    if verdicts.get("recovery") is not None and verdicts["recovery"].passed:
        expected_before = 10 + rows_before
        got_before = counts.get("base", 0) + counts.get("before", 0)
        verdicts["rows_before_target"] = Verdict(
            "rows_before_target",
            PASS if got_before == expected_before else FAIL,
            f"{got_before} of {expected_before} rows written before the target are present",
            [] if got_before == expected_before else [f"pitr_probe: {expected_before - got_before} row(s) lost"],
        )
        got_after = counts.get("after", 0)
        verdicts["rows_after_target"] = Verdict(
            "rows_after_target",
            PASS if got_after == 0 else FAIL,
            f"{got_after} of {rows_after} rows written after the target are present (must be 0)",
            [] if got_after == 0 else [f"pitr_probe: {got_after} row(s) from after the target were replayed"],
        )
        if rpo is None:
            verdicts["rpo"] = Verdict("rpo", FAIL, "no replayed transaction: RPO unknown")
        else:
            met = rpo_objective_seconds is None or rpo <= rpo_objective_seconds
            goal = f" against an objective of {format_seconds(rpo_objective_seconds)}" if rpo_objective_seconds else ""
            verdicts["rpo"] = Verdict(
                "rpo", PASS if met else FAIL, f"achieved RPO {rpo:.6f} s (target minus last replayed commit){goal}"
            )
    first_failure = next((v.layer for v in verdicts.values() if v.status == FAIL), "")
    for layer in PITR_LAYERS:
        verdicts.setdefault(layer, Verdict(layer, SKIPPED, f"not run: {first_failure or 'earlier step'} failed"))

    ordered = [verdicts[layer] for layer in PITR_LAYERS]
    evidence = PitrDrillEvidence(
        drill_id=drill_id,
        passed=all(v.passed for v in ordered) and cleaned,
        started_at=started_at,
        finished_at=iso(utc_now()),
        total_seconds=round(time.monotonic() - started, 4),
        target_time=iso(target) if target else "",
        base_backup_at=base_backup_at,
        last_replayed_at=outcome.last_replayed_at if outcome else None,
        achieved_rpo_seconds=rpo,
        rows_before_target=10 + rows_before,
        rows_after_target=rows_after,
        recovered_before_target=(counts.get("base", 0) + counts.get("before", 0)) if counts else None,
        recovered_after_target=counts.get("after", 0) if counts else None,
        archived_segments=archived,
        verdicts=ordered,
        phases=clock.phases,
        recovery_error=outcome.error if outcome else "",
        recovery_log_tail=outcome.log_tail if outcome else "",
        cleaned_up=cleaned,
        options={
            "rows_before": rows_before,
            "rows_after": rows_after,
            "timeout_seconds": timeout_seconds,
            "rpo_objective_seconds": rpo_objective_seconds,
            "target_overridden": target_time is not None,
        },
    )
    evidence.report_markdown = render_pitr_report(evidence)
    return evidence


def render_pitr_report(ev: PitrDrillEvidence) -> str:
    outcome = "PASSED" if ev.passed else "FAILED"
    rpo = f"{ev.achieved_rpo_seconds:.6f} s" if ev.achieved_rpo_seconds is not None else "unknown"
    lines = [
        f"# Point-in-time recovery drill {outcome}",
        "",
        f"- Drill `{ev.drill_id}` ran from {ev.started_at} to {ev.finished_at} ({format_seconds(ev.total_seconds)}).",
        f"- Base backup finished at {ev.base_backup_at or 'n/a'}; {ev.archived_segments} WAL segment(s) archived.",
        f"- Recovery target: {ev.target_time or 'n/a'}; last replayed commit: {ev.last_replayed_at or 'n/a'}.",
        f"- Achieved RPO: {rpo}.",
        f"- Rows written before the target: {ev.rows_before_target}, recovered: {_n(ev.recovered_before_target)}; "
        f"after the target: {ev.rows_after_target}, recovered: {_n(ev.recovered_after_target)} (must be 0).",
        f"- Throwaway clusters and directories removed: {'yes' if ev.cleaned_up else '**no**'}.",
        "",
        "## Verdicts",
        "",
        *verdict_rows(ev.verdicts),
        "",
        "## Phases",
        "",
        "| phase | started | took |",
        "|---|---|---|",
        *[f"| {p.name} | {p.started_at} | {format_seconds(p.seconds)} |" for p in ev.phases],
    ]
    if ev.recovery_error:
        lines += ["", "## Recovery log (tail)", "", "```", ev.recovery_log_tail, "```"]
    return "\n".join(lines) + "\n"


def _n(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def default_beyond_archive_target() -> datetime:
    """A target an hour past now: no archive can contain it, so recovery must fail cleanly."""
    return utc_now() + timedelta(hours=1)
