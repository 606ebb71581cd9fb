"""Error-budget overrides: a release manager lets releases pass the error-budget gate for a while."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from governance import services as core
from governance.models import Service
from observability.models import ErrorBudgetOverride


def check_override_request(*, expires_at: datetime, actor: Any) -> None:
    """The rules of a grant (also run by the admin form, so a refusal shows on the form)."""
    if not actor.has_perm("observability.add_errorbudgetoverride"):
        raise ValidationError("Only a release manager may override the error budget.")
    now = timezone.now()
    if expires_at <= now:
        raise ValidationError({"expires_at": "The override must expire in the future."})
    if expires_at - now > timedelta(hours=settings.SLO_OVERRIDE_MAX_HOURS):
        raise ValidationError({"expires_at": f"An override may last at most {settings.SLO_OVERRIDE_MAX_HOURS} hours; "
                                             "grant a new one if the budget is still exhausted then."})


@transaction.atomic
def grant_error_budget_override(*, service: Service, expires_at: datetime, actor: Any, reason: str,
                                release_id: int | None = None) -> ErrorBudgetOverride:
    """Let releases of `service` (or one release) pass the error-budget gate until `expires_at`.

    Only users allowed to add overrides (release managers, administrators) may grant one.
    """
    reason = core.require_reason(reason)
    check_override_request(expires_at=expires_at, actor=actor)
    now = timezone.now()
    override = ErrorBudgetOverride(service=service, release_id=release_id, justification=reason,
                                   granted_by=actor.get_username(), created_at=now, expires_at=expires_at)
    override.full_clean()
    override.stamp(actor=actor, reason=reason)
    override.save()
    return override


@transaction.atomic
def revoke_error_budget_override(*, override: ErrorBudgetOverride, actor: Any, reason: str) -> ErrorBudgetOverride:
    override = ErrorBudgetOverride.objects.select_for_update().get(pk=override.pk)
    if override.revoked_at is not None:
        return override
    override.revoked_at = timezone.now()
    override.stamp(actor=actor, reason=core.require_reason(reason))
    override.save(update_fields=["revoked_at"])
    return override
