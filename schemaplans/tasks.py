"""django-q2 entry points: verification runs and backfill runs. Tasks take ids."""

from __future__ import annotations

from datetime import timedelta

import psycopg
from django.core.exceptions import ValidationError
from django.utils import timezone

from governance.locks import advisory_lock
from governance.services import system_user
from schemaplans import databases, engine, services
from schemaplans.models import Backfill, SchemaPlan

STALE_AFTER = timedelta(minutes=2)


def verify_plan(plan_id: int) -> str:
    plan = SchemaPlan.objects.get(pk=plan_id)
    try:
        run = services.verify_plan(plan=plan, actor=system_user(), reason="schedule: verify schema plans")
    except ValidationError as exc:
        return f"{plan.slug}: skipped: {'; '.join(exc.messages)}"
    outcome = f"{run.mismatches} mismatching rows" if run.mismatches is not None else f"failed: {run.error}"
    return f"{plan.slug}: {outcome} (zero streak {run.zero_streak}/{plan.required_zero_runs})"


def verify_plans() -> list[str]:
    """Scheduled: one verification run of every plan in `verifying`."""
    ids = SchemaPlan.objects.filter(status=SchemaPlan.Status.VERIFYING).values_list("pk", flat=True)
    return [verify_plan(pk) for pk in ids]


def run_backfill(backfill_id: int) -> str:
    outcome = engine.run(backfill_id)
    return f"backfill #{backfill_id}: {outcome.state} ({outcome.batches} batches, {outcome.rows} rows) {outcome.message}"


def resume_backfills() -> list[int]:
    """Scheduled: re-enqueue running backfills that no worker holds and that made no progress lately.

    A worker killed mid-run (OOM, deploy, SIGKILL) leaves its backfill `running`; its advisory lock went with
    its session, so the next worker continues from the last checkpoint.
    """
    from django_q.tasks import async_task

    resumed = []
    stale = timezone.now() - STALE_AFTER
    candidates = Backfill.objects.filter(status=Backfill.Status.RUNNING).select_related("progress")
    with databases.connect(databases.DEFAULT, application_name="backfill-resume") as conn:
        for backfill in candidates:
            updated = getattr(getattr(backfill, "progress", None), "updated_at", None)
            if updated is not None and updated > stale:
                continue
            try:
                with advisory_lock(engine.backfill_lock(backfill.pk), wait=False, scope="session",
                                   connection=conn) as free:
                    pass  # only asking: is a runner holding it?
            except psycopg.Error:
                continue
            if free:
                async_task("schemaplans.tasks.run_backfill", backfill.pk)
                resumed.append(backfill.pk)
    return resumed
