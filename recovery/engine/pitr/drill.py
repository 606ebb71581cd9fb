"""The PITR drill end to end: a throwaway primary with archiving, a workload around a target instant,
recovery of the base backup to that instant, and the verdicts on what came back.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

from recovery.engine import pgtools
from recovery.engine.cluster import ThrowawayCluster
from recovery.engine.evidence import FAIL, PASS, SKIPPED, PhaseClock, Verdict, format_seconds, iso, utc_now
from recovery.engine.pitr.replay import RecoveredCluster, RecoveryOutcome
from recovery.engine.pitr.report import PitrDrillEvidence, render_pitr_report

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


def default_beyond_archive_target() -> datetime:
    """A target an hour past now: no archive can contain it, so recovery must fail cleanly."""
    return utc_now() + timedelta(hours=1)
