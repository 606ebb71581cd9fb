"""django-q2 entry points of the recovery app: they take ids, load rows and call a service."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from governance.services import system_user
from recovery import alerts, queries, services
from recovery.models import BackupTarget, Drill


def run_drill(drill_id: int) -> str:
    """Run one queued drill (enqueued by services.request_drill on commit)."""
    drill = services.run_drill(drill=Drill.objects.select_related("target").get(pk=drill_id))
    return drill.status


def take_backup(target_id: int, reason: str = "scheduled: nightly backup", actor_id: int | None = None) -> str:
    """Back one target up as the requesting user (the system user for the schedule)."""
    actor = get_user_model().objects.get(pk=actor_id) if actor_id else system_user()
    backup = services.take_backup(target=BackupTarget.objects.get(pk=target_id), actor=actor, reason=reason)
    return backup.status


def nightly_backups() -> list[int]:
    """Scheduled: one backup task per enabled target, each with the backup's own timeout."""
    actor = system_user()
    targets = list(BackupTarget.objects.filter(enabled=True))
    for target in targets:
        services.request_backup(target=target, actor=actor, reason="scheduled: nightly backup")
    return [t.pk for t in targets]


def monthly_restore_drills() -> list[int]:
    """Scheduled: queue a restore drill of the newest backup of every enabled target."""
    actor = system_user()
    return [
        services.request_drill(target=target, kind=Drill.Kind.RESTORE, actor=actor,
                               reason="scheduled: monthly restore drill").pk
        for target in BackupTarget.objects.filter(enabled=True)
    ]


def check_missed_drills() -> list[str]:
    """Scheduled daily: fail abandoned drills, then alert for each target whose last passed restore drill
    is too old (or missing)."""
    services.fail_abandoned_drills()
    max_age = settings.DR_DRILL_MAX_AGE_DAYS
    names = []
    for target in queries.overdue_targets(now=timezone.now(), max_age_days=max_age):
        alerts.send(alerts.drill_overdue(target, target.last_passed, max_age))
        names.append(target.name)
    return names
