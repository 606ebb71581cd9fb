"""Shared pieces of the releases services: the conflict error and the one way a release changes state."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from governance.conflicts import Conflict
from governance.services import require_reason
from releases import states
from releases.models import Release

# The request contradicts what is recorded (the API answers 409): the core's one domain conflict.
__all__ = ["Conflict", "transition"]


def transition(release: Release, to: str, *, actor: Any, reason: str) -> Release:
    """Move a locked release along the state machine, or raise ValidationError naming the allowed moves."""
    try:
        states.check_transition(release, to)
    except states.InvalidTransition as exc:
        raise Conflict(str(exc)) from None
    release.state = to
    release.state_changed_at = timezone.now()
    release.stamp(actor=actor, reason=require_reason(reason))
    release.save(update_fields=["state", "state_changed_at"])
    return release
