"""django-q2 entry points of the recovery app: they take ids, load rows and call a service."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from governance.services import system_user
from recovery import alerts, queries, services
from recovery.models import BackupTarget, Drill


def run_drill(drill_id: int) -> str:
    """Run one queued drill (enqueued by services.request_drill on commit)."""
    drill = services.run_drill(drill=Drill.objects.select_related("target").get(pk=drill_id))
    return drill.status


def take_backup(target_id: int, reason: str = "scheduled: nightly backup") -> str:
    backup = services.take_backup(target=BackupTarget.objects.get(pk=target_id), actor=system_user(), reason=reason)
    return backup.status


def nightly_backups() -> list[int]:
    """Scheduled: one backup task per enabled target, each with the backup's own timeout."""
    ids = list(BackupTarget.objects.filter(enabled=True).values_list("pk", flat=True))
    for target_id in ids:
        async_task("recovery.tasks.take_backup", target_id, task_name=f"backup-target-{target_id}",
                   q_options={"timeout": settings.DR_BACKUP_TIMEOUT_SECONDS + 300})
    return ids


def monthly_restore_drills() -> list[int]:
    """Scheduled: queue a restore drill of the newest backup of every enabled target."""
    actor = system_user()
    return [
        services.request_drill(target=target, kind=Drill.Kind.RESTORE, actor=actor,
                               reason="scheduled: monthly restore drill").pk
        for target in BackupTarget.objects.filter(enabled=True)
    ]


def check_missed_drills() -> list[str]:
    """Scheduled daily: alert for each target whose last passed restore drill is too old (or missing)."""
    max_age = settings.DR_DRILL_MAX_AGE_DAYS
    names = []
    for target in queries.overdue_targets(now=timezone.now(), max_age_days=max_age):
        alerts.send(alerts.drill_overdue(target, target.last_passed, max_age))
        names.append(target.name)
    return names
