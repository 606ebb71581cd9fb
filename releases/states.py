"""A release's life as one explicit state machine: the allowed transitions and what causes each.

    registered ──deploy to a pre-production environment──▶ in_preview
    registered / in_preview ──required production checks pass, approvals outstanding──▶ awaiting_approval
    registered / in_preview / awaiting_approval / failed ──promotion starts──▶ promoting
    promoting ──provider succeeded──▶ live            promoting ──provider failed──▶ failed
    live ──a newer release went live──▶ superseded    live ──rolled back to an earlier release──▶ rolled_back
    superseded ──rollback to it starts──▶ promoting   promoting ──that rollback failed──▶ superseded
    in_preview / awaiting_approval / failed ──evidence amended──▶ registered
    registered / in_preview / awaiting_approval / failed ──production deployment recorded by CI──▶ live / failed
"""

from __future__ import annotations

from governance.transitions import InvalidTransition, TransitionTable
from releases.models import Release

S = Release.State

TABLE = TransitionTable(
    name="release",
    states=(S.REGISTERED, S.IN_PREVIEW, S.AWAITING_APPROVAL, S.PROMOTING, S.FAILED, S.LIVE, S.SUPERSEDED,
            S.ROLLED_BACK),
    field="state",
    changed_at_field="state_changed_at",
    moves={
        (S.REGISTERED, S.IN_PREVIEW): "deployed to a pre-production environment",
        (S.REGISTERED, S.AWAITING_APPROVAL): "required production checks passed; approvals outstanding",
        (S.IN_PREVIEW, S.AWAITING_APPROVAL): "required production checks passed; approvals outstanding",
        (S.IN_PREVIEW, S.REGISTERED): "evidence amended",
        (S.AWAITING_APPROVAL, S.REGISTERED): "evidence amended",
        (S.FAILED, S.REGISTERED): "evidence amended",
        (S.REGISTERED, S.PROMOTING): "promotion started",
        (S.IN_PREVIEW, S.PROMOTING): "promotion started",
        (S.AWAITING_APPROVAL, S.PROMOTING): "promotion started",
        (S.FAILED, S.PROMOTING): "promotion retried",
        (S.SUPERSEDED, S.PROMOTING): "rollback to this release started",
        (S.PROMOTING, S.LIVE): "deployment succeeded",
        (S.PROMOTING, S.FAILED): "promotion failed",
        (S.PROMOTING, S.SUPERSEDED): "rollback to this release failed; it stays superseded",
        (S.LIVE, S.SUPERSEDED): "a newer release went live",
        (S.LIVE, S.ROLLED_BACK): "rolled back to an earlier release",
        (S.REGISTERED, S.LIVE): "production deployment recorded by CI",
        (S.IN_PREVIEW, S.LIVE): "production deployment recorded by CI",
        (S.AWAITING_APPROVAL, S.LIVE): "production deployment recorded by CI",
        (S.FAILED, S.LIVE): "production deployment recorded by CI",
        (S.REGISTERED, S.FAILED): "production deployment recorded as failed by CI",
        (S.IN_PREVIEW, S.FAILED): "production deployment recorded as failed by CI",
        (S.AWAITING_APPROVAL, S.FAILED): "production deployment recorded as failed by CI",
    },
)
TRANSITIONS = TABLE.moves

# States from which a release may still be approved, amended or promoted (nothing has gone live).
PRE_PRODUCTION = frozenset({S.REGISTERED, S.IN_PREVIEW, S.AWAITING_APPROVAL, S.FAILED})

__all__ = ["PRE_PRODUCTION", "TABLE", "TRANSITIONS", "InvalidTransition", "allowed_from", "check_transition"]


def allowed_from(state: str) -> list[str]:
    return TABLE.allowed_from(state)


def check_transition(release: Release, to: str) -> str:
    """The cause of the transition, or InvalidTransition with a clear message."""
    return TABLE.check(release, to)
