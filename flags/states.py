"""The lifecycles of a flag change request and of a scheduled change, as transition tables.

Rendered in docs/FLAGS.md from this module (governance.transitions); tests/governance/test_transition_tables.py
keeps them equal.
"""

from __future__ import annotations

from flags.models import ChangeRequest, ScheduledChange
from governance.transitions import TransitionTable

R = ChangeRequest.Status
C = ScheduledChange.Status

CHANGE_REQUEST = TransitionTable(
    name="change request",
    states=(R.PENDING, R.APPLIED, R.REJECTED, R.FAILED),
    moves={
        (R.PENDING, R.APPLIED): "approved by someone other than its author; the flag is at the request's revision",
        (R.PENDING, R.FAILED): "approved, but the flag changed since the request (stale): propose it again",
        (R.PENDING, R.REJECTED): "rejected by a reviewer, with a reason",
    },
)

SCHEDULED_CHANGE = TransitionTable(
    name="scheduled change",
    states=(C.AWAITING_APPROVAL, C.SCHEDULED, C.APPLIED, C.FAILED, C.CANCELLED),
    moves={
        (C.AWAITING_APPROVAL, C.SCHEDULED): "approved by someone other than its author",
        (C.AWAITING_APPROVAL, C.CANCELLED): "cancelled with a reason",
        (C.AWAITING_APPROVAL, C.FAILED): "its time came before anyone but its author approved it",
        (C.SCHEDULED, C.APPLIED): "its time came and the flag is at the planned revision",
        (C.SCHEDULED, C.FAILED): "its time came, but the flag changed since or the change no longer validates",
        (C.SCHEDULED, C.CANCELLED): "cancelled with a reason",
    },
)

# States the scheduler picks up when their time comes.
DUE = frozenset(frm for (frm, to) in SCHEDULED_CHANGE.moves if to == C.FAILED)
