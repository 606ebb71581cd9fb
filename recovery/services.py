"""Every state change of the recovery app: targets, backups, retention and drills.

Backups and drills run for minutes to hours, so `take_backup` and `run_*_drill` are deliberately
not one transaction: each write of their evidence row is atomic and commits at once, so a
crash mid-run still leaves the row saying how far it got. Each run holds a PostgreSQL advisory
lock per target (the scheduler does not check whether the previous run is still going), and every
drill ends as `passed` or `failed` with verdicts and a report, whatever the engine did.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.conninfo import make_conninfo

from governance.locks import advisory_lock
from governance.services import require_reason, save_audited
from recovery import alerts
from recovery.engine import backup as engine_backup
from recovery.engine import pitr as engine_pitr
from recovery.engine import restore as engine_restore
from recovery.engine import retention as engine_retention
from recovery.engine.evidence import FAIL, Verdict, format_seconds, verdict_rows
from recovery.models import Backup, BackupTarget, Drill

logger = logging.getLogger(__name__)

# Advisory-lock names (governance.locks): one drill and one backup per target at a time.
DRILL_LOCK = "recovery:drill"
BACKUP_LOCK = "recovery:backup"
TARGET_FIELDS = ("service", "dsn_env", "directory", "keep_daily", "keep_monthly", "smoke_queries", "objective",
                 "enabled")


# --- connections and settings -----------------------------------------------------------------------

def portal_dsn(dbname: str | None = None) -> str:
    """A libpq DSN for the portal's own database (or another database on the same server)."""
    s = connection.settings_dict
    params = {"dbname": dbname or s["NAME"], "user": s.get("USER"), "password": s.get("PASSWORD"),
              "host": s.get("HOST"), "port": s.get("PORT")}
    return make_conninfo(**{k: str(v) for k, v in params.items() if v})


def target_dsn(target: BackupTarget) -> str:
    """The target database's DSN, read from the environment variable the target names."""
    if not target.dsn_env:
        return portal_dsn()
    value = os.environ.get(target.dsn_env, "").strip()
    if not value:
        # Never echo a DSN (it may carry a password): only the variable's name.
        raise ValidationError(f"Environment variable {target.dsn_env} (the DSN of target '{target.name}') is not set.")
    return value


def drill_admin_dsn() -> str:
    """Where restore drills create their shadow databases."""
    return settings.DR_DRILL_ADMIN_DSN or portal_dsn("postgres")


def objectives() -> dict[str, float]:
    return {"critical": float(settings.DR_RTO_CRITICAL_SECONDS), "full": float(settings.DR_RTO_FULL_SECONDS)}


def target_lock(kind: str, target_id: int) -> contextlib.AbstractContextManager[bool]:
    """Hold a session advisory lock for one target while the block runs; yields False if someone else has it."""
    return advisory_lock(f"{kind}:{target_id}", wait=False, scope="session")


# --- targets -----------------------------------------------------------------------------------------

@transaction.atomic
def create_backup_target(*, name: str, directory: str, actor: Any, reason: str, **fields: Any) -> BackupTarget:
    """Register a database to back up and drill (its DSN stays in the environment variable `dsn_env`)."""
    unknown = set(fields) - set(TARGET_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown target field(s): {', '.join(sorted(unknown))}")
    target = BackupTarget(name=name, directory=directory, **fields)
    save_audited(instance=target, actor=actor, reason=reason)
    return target


@transaction.atomic
def update_backup_target(*, target: BackupTarget, actor: Any, reason: str, **changes: Any) -> BackupTarget:
    """Change a target's settings (retention, smoke queries, objective, …)."""
    unknown = set(changes) - set(TARGET_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown target field(s): {', '.join(sorted(unknown))}")
    target = BackupTarget.objects.select_for_update().get(pk=target.pk)
    for field, value in changes.items():
        setattr(target, field, value)
    save_audited(instance=target, actor=actor, reason=reason, update_fields=list(changes) or None)
    return target


# --- backups and retention ---------------------------------------------------------------------------

def take_backup(*, target: BackupTarget, actor: Any, reason: str) -> Backup:
    """Back the target up (dump + manifest), record the evidence row, then apply the retention policy.

    A failure is recorded as a failed Backup row (and alerted), never raised: the nightly job goes
    on with the next target.
    """
    reason = require_reason(reason)
    with target_lock(BACKUP_LOCK, target.pk) as acquired:
        if not acquired:
            return _record_failed_backup(
                target, actor, reason,
                f"skipped: another backup of target '{target.name}' is running (one backup per target at a time)",
            )
        try:
            info = engine_backup.take_backup(
                dsn=target_dsn(target), directory=Path(target.directory),
                timeout_seconds=settings.DR_BACKUP_TIMEOUT_SECONDS,
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes evidence and an alert
            return _record_failed_backup(target, actor, reason, _describe(exc))
        with transaction.atomic():
            backup = Backup.objects.create(
                target=target, status=Backup.Status.SUCCEEDED, path=info.path, manifest_path=info.manifest_path,
                sha256=info.sha256, size_bytes=info.size_bytes, tables=info.tables, rows=info.rows,
                manifest=asdict(info.manifest), phases=[asdict(p) for p in info.phases], seconds=info.seconds,
                created_at=datetime.fromisoformat(info.created_at), created_by=actor, reason=reason,
            )
        apply_retention(target=target, actor=actor, reason=f"retention after backup #{backup.pk}: {reason}")
    return backup


@transaction.atomic
def request_backup(*, target: BackupTarget, actor: Any, reason: str) -> None:
    """Queue a backup of the target now; the worker takes it once this transaction commits."""
    reason = require_reason(reason)
    target_id, actor_id = target.pk, actor.pk
    transaction.on_commit(lambda: _enqueue_backup(target_id, reason, actor_id))


def _enqueue_backup(target_id: int, reason: str, actor_id: int | None) -> None:
    from django_q.tasks import async_task

    async_task("recovery.tasks.take_backup", target_id, reason, actor_id, task_name=f"backup-target-{target_id}",
               q_options={"timeout": settings.DR_BACKUP_TIMEOUT_SECONDS + 300})


def _record_failed_backup(target: BackupTarget, actor: Any, reason: str, error: str) -> Backup:
    with transaction.atomic():
        backup = Backup.objects.create(target=target, status=Backup.Status.FAILED, error=error, created_by=actor,
                                       reason=reason)
        transaction.on_commit(lambda: alerts.send(alerts.backup_failed(backup)))
    logger.error("backup of target %s failed: %s", target.name, error)
    return backup


def apply_retention(*, target: BackupTarget, actor: Any, reason: str, now: datetime | None = None) -> list[Backup]:
    """Delete the backups the target's policy no longer keeps: rows are marked first, files removed after.

    Marking before deleting means a crash in between leaves a stray file, never a row that claims a
    backup whose file is gone.
    """
    reason = require_reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        live = list(Backup.objects.select_for_update().filter(
            target=target, status=Backup.Status.SUCCEEDED, deleted_at__isnull=True))
        doomed = engine_retention.apply_retention(live, target.keep_daily, target.keep_monthly, now)
        for backup in doomed:
            backup.deleted_at = timezone.now()
            backup.deleted_reason = f"{reason} (by {getattr(actor, 'username', actor)})"
            backup.save(update_fields=["deleted_at", "deleted_reason"])
    for backup in doomed:
        try:
            engine_backup.delete_backup(backup)
        except OSError as exc:
            logger.error("retention could not delete %s: %s", backup.path, exc)
    return doomed


# --- drills ------------------------------------------------------------------------------------------

@transaction.atomic
def request_drill(*, target: BackupTarget, kind: str, actor: Any, reason: str) -> Drill:
    """Queue a drill of the target; the worker runs it once this transaction commits."""
    if kind not in Drill.Kind.values:
        raise ValidationError({"kind": f"Unknown drill kind {kind!r}; use one of: {', '.join(Drill.Kind.values)}."})
    drill = Drill.objects.create(
        kind=kind, target=target, requested_by=actor, reason=require_reason(reason),
        objective=target.objective, objective_seconds=objectives()[target.objective],
    )
    transaction.on_commit(lambda: _enqueue(drill.pk))
    return drill


def _enqueue(drill_id: int) -> None:
    from django_q.tasks import async_task

    # The drill bounds itself (DR_DRILL_TIMEOUT_SECONDS); the worker's timeout must not cut it short.
    async_task("recovery.tasks.run_drill", drill_id, task_name=f"drill-{drill_id}",
               q_options={"timeout": settings.DR_DRILL_TIMEOUT_SECONDS + 300})


def run_drill(*, drill: Drill) -> Drill:
    """Run a queued drill of either kind (the task's entry point)."""
    return run_pitr_drill(drill=drill) if drill.kind == Drill.Kind.PITR else run_restore_drill(drill=drill)


def run_restore_drill(*, drill: Drill) -> Drill:
    """Restore the drill's backup (the target's newest by default) into a shadow database and verify it.

    Actor and reason are the drill's own (`requested_by`, `reason`), recorded when it was requested.
    """
    return _run(drill, Drill.Kind.RESTORE, _restore_engine)


def run_pitr_drill(*, drill: Drill) -> Drill:
    """Drill point-in-time recovery in throwaway clusters and record the achieved RPO."""
    return _run(drill, Drill.Kind.PITR, _pitr_engine)


def _run(drill: Drill, kind: str, engine: Any) -> Drill:
    if drill.kind != kind:
        raise ValidationError(f"Drill #{drill.pk} is a {drill.kind} drill, not a {kind} drill.")
    claimed = _claim(drill)
    if claimed is None:
        return Drill.objects.get(pk=drill.pk)  # already run or running (a re-delivered task): nothing to do
    drill = claimed
    with target_lock(DRILL_LOCK, drill.target_id) as acquired:
        if not acquired:
            message = (f"skipped: another drill of target '{drill.target.name}' is running "
                       "(only one drill per target runs at a time)")
            return _finish_without_engine(drill, layer="lock", error=message)
        try:
            return engine(drill)
        except Exception as exc:  # noqa: BLE001 - every drill leaves an evidence record
            logger.exception("drill #%s crashed", drill.pk)
            return _finish_without_engine(drill, layer="engine", error=f"the drill engine failed: {_describe(exc)}")


def _claim(drill: Drill) -> Drill | None:
    with transaction.atomic():
        locked = Drill.objects.select_for_update().select_related("target").get(pk=drill.pk)
        if locked.status != Drill.Status.QUEUED:
            return None
        locked.status = Drill.Status.RUNNING
        locked.started_at = timezone.now()
        locked.save(update_fields=["status", "started_at"])
    return locked


def newest_backup(target: BackupTarget) -> Backup | None:
    return (Backup.objects.filter(target=target, status=Backup.Status.SUCCEEDED, deleted_at__isnull=True)
            .order_by("-created_at", "-id").first())


def _restore_engine(drill: Drill) -> Drill:
    backup = drill.backup or newest_backup(drill.target)
    if backup is None:
        return _finish_without_engine(
            drill, layer="backup",
            error=f"no backup of target '{drill.target.name}' to restore: take one first (admin action or nightly job)",
        )
    if drill.backup_id is None:
        with transaction.atomic():
            drill.backup = backup
            drill.save(update_fields=["backup"])
    evidence = engine_restore.run_restore_drill(
        dump_path=Path(backup.path),
        admin_dsn=drill_admin_dsn(),
        shadow_prefix=settings.DR_SHADOW_PREFIX,
        smoke_queries=[engine_restore.SmokeQuery(name=q["name"], sql=q["sql"]) for q in drill.target.smoke_queries],
        objective=drill.objective,
        objectives=objectives(),
        timeout_seconds=settings.DR_DRILL_TIMEOUT_SECONDS,
    )
    return _finish(drill, passed=evidence.passed, verdicts=evidence.verdicts, phases=evidence.phases,
                   evidence=asdict(evidence), recovery_seconds=evidence.recovery_seconds,
                   total_seconds=evidence.total_seconds, report=evidence.report_markdown)


def _pitr_engine(drill: Drill) -> Drill:
    evidence = engine_pitr.run_pitr_drill(
        rpo_objective_seconds=float(settings.DR_PITR_RPO_OBJECTIVE_SECONDS),
        timeout_seconds=float(settings.DR_DRILL_TIMEOUT_SECONDS),
    )
    return _finish(drill, passed=evidence.passed, verdicts=evidence.verdicts, phases=evidence.phases,
                   evidence=asdict(evidence), recovery_seconds=None, total_seconds=evidence.total_seconds,
                   report=evidence.report_markdown, achieved_rpo_seconds=evidence.achieved_rpo_seconds)


def _finish(drill: Drill, *, passed: bool, verdicts: list[Verdict], phases: list[Any], evidence: dict[str, Any],
            recovery_seconds: float | None, total_seconds: float, report: str,
            achieved_rpo_seconds: float | None = None, error: str = "") -> Drill:
    with transaction.atomic():
        drill = Drill.objects.select_for_update().select_related("target", "requested_by").get(pk=drill.pk)
        if drill.is_finished:
            return drill  # a finished drill is evidence: never rewritten
        drill.status = Drill.Status.PASSED if passed else Drill.Status.FAILED
        drill.verdicts = [asdict(v) for v in verdicts]
        drill.phases = [asdict(p) for p in phases]
        drill.evidence = evidence
        drill.recovery_seconds = recovery_seconds
        drill.total_seconds = total_seconds
        drill.achieved_rpo_seconds = achieved_rpo_seconds
        drill.error = error
        drill.finished_at = timezone.now()
        drill.report_markdown = report.rstrip("\n") + "\n\n" + "\n".join(_request_section(drill)) + "\n"
        drill.save(update_fields=["status", "verdicts", "phases", "evidence", "recovery_seconds", "total_seconds",
                                  "achieved_rpo_seconds", "error", "finished_at", "report_markdown"])
        if not passed:
            drill_id = drill.pk
            transaction.on_commit(lambda: alerts.send(alerts.drill_failed(Drill.objects.get(pk=drill_id))))
    return drill


def _finish_without_engine(drill: Drill, *, layer: str, error: str) -> Drill:
    """Record a drill that could not run (lock held, no backup, engine crash) as failed, with a report."""
    verdict = Verdict(layer=layer, status=FAIL, summary=error, problems=[error])
    elapsed = (timezone.now() - drill.started_at).total_seconds() if drill.started_at else 0.0
    title = "Restore drill" if drill.kind == Drill.Kind.RESTORE else "Point-in-time recovery drill"
    lines = [
        f"# {title} FAILED: target {drill.target.name}",
        "",
        f"- The drill did not complete: {error}",
        f"- Ran for {format_seconds(elapsed)}.",
        "",
        "## Verdicts",
        "",
        *verdict_rows([verdict]),
    ]
    return _finish(drill, passed=False, verdicts=[verdict], phases=[], evidence={"error": error},
                   recovery_seconds=None, total_seconds=round(elapsed, 4), report="\n".join(lines), error=error)


def fail_abandoned_drills(*, now: datetime | None = None) -> list[Drill]:
    """Fail drills queued or running far past any drill's time bound (worker killed, task lost), with an alert."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.DR_DRILL_TIMEOUT_SECONDS + 3600)
    stale = Drill.objects.select_related("target").filter(
        Q(status=Drill.Status.RUNNING, started_at__lt=limit) | Q(status=Drill.Status.QUEUED, requested_at__lt=limit))
    failed = []
    for drill in stale:
        since = drill.started_at or drill.requested_at
        error = (f"abandoned: {drill.status} since {since.isoformat()}, past the drill time bound; the worker "
                 "was stopped or the task was lost (see Admin -> Django Q -> Failed tasks)")
        failed.append(_finish_without_engine(drill, layer="worker", error=error))
    return failed


def _request_section(drill: Drill) -> list[str]:
    backup = drill.backup
    lines = [
        "## Request",
        "",
        f"- Portal drill #{drill.pk} ({drill.kind}) of target `{drill.target.name}` "
        f"({drill.target.database_label}), objective `{drill.objective}` ({format_seconds(drill.objective_seconds)}).",
        f"- Requested by {drill.requested_by.get_username()} at {drill.requested_at.isoformat()}: {drill.reason}",
        f"- What a pass proves: {drill.proves}.",
    ]
    if backup is not None:
        lines.append(f"- Backup #{backup.pk}: `{backup.path}`, taken {backup.created_at.isoformat()}.")
    return lines


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    text = " ".join(str(exc).split())[:1000]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
