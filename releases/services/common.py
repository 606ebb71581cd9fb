"""Shared pieces of the releases services: the conflict error and the one way a release changes state."""

from __future__ import annotations

from typing import Any

from governance.conflicts import Conflict
from releases import states
from releases.models import Release

# The request contradicts what is recorded (the API answers 409): the core's one domain conflict.
__all__ = ["Conflict", "transition"]


def transition(release: Release, to: str, *, actor: Any, reason: str) -> Release:
    """Move a locked release along the state machine, or raise Conflict (409) naming the allowed moves."""
    try:
        states.TABLE.apply(release, to, actor=actor, reason=reason, label=str(release))
    except states.InvalidTransition as exc:
        raise Conflict(exc.messages[0]) from None
    return release
