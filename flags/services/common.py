"""Constants, outcomes and the revision sequence shared by the flag services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from govctl.flags.flag_ops import KILL_API, KILL_DATABASE, MAINTENANCE, RATE_MULTIPLIER

from flags.models import ChangeRequest, FlagState, Kind, ValueType
from governance.conflicts import Conflict
from governance.reasons import fit_reason as fit_reason  # re-exported for flags' services

# The built-in keys (MAINTENANCE, KILL_API...) are govctl.flags.flag_ops': the governed services' middleware reads them.

# key, kind, value type, description, enabled, number, bounds (min, max, step)
BUILTIN_FLAGS: list[dict[str, Any]] = [
    {"key": MAINTENANCE, "kind": Kind.KILL_SWITCH, "value_type": ValueType.BOOLEAN, "enabled": False,
     "description": "Maintenance mode: 503 for everyone but staff and health checks."},
    {"key": KILL_API, "kind": Kind.KILL_SWITCH, "value_type": ValueType.BOOLEAN, "enabled": False,
     "description": "Kill switch: the API answers 503."},
    {"key": KILL_DATABASE, "kind": Kind.KILL_SWITCH, "value_type": ValueType.BOOLEAN, "enabled": False,
     "description": "Kill switch: database writes are refused (reads keep working)."},
    {"key": RATE_MULTIPLIER, "kind": Kind.OPERATIONAL, "value_type": ValueType.NUMBER, "enabled": True,
     "number": 1.0, "min_value": 0.1, "max_value": 10.0, "max_step": 2.0,
     "description": "Scales API rate limits (1 = as configured)."},
]

KNOWN_STRATEGIES = {"default", "userWithId", "flexibleRollout", "gradualRolloutRandom", "gradualRolloutUserId",
                    "gradualRolloutSessionId", "remoteAddress", "applicationHostname"}
KNOWN_OPERATORS = {"IN", "NOT_IN", "STR_STARTS_WITH", "STR_ENDS_WITH", "STR_CONTAINS", "NUM_EQ", "NUM_GT", "NUM_GTE",
                   "NUM_LT", "NUM_LTE", "DATE_AFTER", "DATE_BEFORE", "SEMVER_EQ", "SEMVER_GT", "SEMVER_GTE",
                   "SEMVER_LT", "SEMVER_LTE", "REGEX", "IN_CIDR"}


class StaleRevision(Conflict):
    """The change was based on a revision that is no longer current (answered as 409 naming the current one)."""

    def __init__(self, message: str, *, current: int | None = None) -> None:
        super().__init__(message, code="stale-revision", current_revision=current)
        self.current = current  # the revision the caller should reload


@dataclass(frozen=True)
class Outcome:
    state: FlagState
    applied: bool
    change_request: ChangeRequest | None = None

    @property
    def message(self) -> str:
        if self.applied:
            return f"{self.state}: applied (revision {self.state.revision})."
        assert self.change_request is not None  # a change that was not applied waits in its request
        return (f"{self.state}: widens exposure in {self.state.environment.slug}; change request "
                f"#{self.change_request.pk} waits for a second person's approval.")


def next_revision() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('flags_revision_seq')")
        return int(cursor.fetchone()[0])


def snapshot_members_changed() -> None:
    """Another app changed what a snapshot carries (hooks.SNAPSHOT_MEMBERS): rebuild and push like a flag change."""
    _invalidate()


def _invalidate() -> None:
    from flags import delivery, push

    # Now for this process (what it serves next), and again after commit for every process: a
    # snapshot rebuilt by another process before our commit would otherwise be cached stale.
    delivery.invalidate()
    transaction.on_commit(delivery.invalidate)
    push.publish()  # the streams of every process (flags/push.py), after the generation bump above
