"""The restore drill end to end: the layers in order, timed, with the shadow database dropped in every case.

It only sequences the steps (shadow.py), the checks (verify.py) and the evidence (report.py).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from recovery.engine import pgtools
from recovery.engine.backup import load_backup, pg_tool_version
from recovery.engine.evidence import FAIL, PASS, SKIPPED, PhaseClock, Verdict, format_seconds, iso, utc_now
from recovery.engine.manifest import Manifest
from recovery.engine.restore.plan import DEFAULT_OBJECTIVES, LAYERS, SmokeQuery, _as_smoke, _Deadline, _shadow_name
from recovery.engine.restore.report import ObjectiveCheck, RestoreDrillEvidence, render_restore_report
from recovery.engine.restore.shadow import _drop_database, _restore, database_exists
from recovery.engine.restore.verify import _check_integrity, _smoke, _verify_tables


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
