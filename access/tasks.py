"""django-q2 entry points of the access app: they take ids, load rows and call a service."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from access import services
from access.models import AccessPolicy
from governance.services import system_user
from recovery.models import BackupTarget


def review_target(target_id: int, reason: str = "scheduled: database access review", actor_id: int | None = None) -> str:
    """Review one target as the requesting user (the system user for the schedule)."""
    actor = get_user_model().objects.get(pk=actor_id) if actor_id else system_user()
    return services.review_access(target=BackupTarget.objects.get(pk=target_id), actor=actor, reason=reason).status


def review_all() -> dict[str, str]:
    """Scheduled: review every target with an enabled policy; one failure does not stop the others."""
    actor = system_user()
    results = {}
    for policy in AccessPolicy.objects.filter(enabled=True).select_related("target"):
        snapshot = services.review_access(target=policy.target, actor=actor, reason="scheduled: database access review")
        results[policy.target.name] = snapshot.status
    return results


def check_overdue_secrets() -> list[int]:
    """Scheduled: alert overdue secrets (once per overdue period)."""
    return [s.pk for s in services.check_overdue_secrets()]
