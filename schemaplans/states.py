"""The lifecycles of a schema plan and of a backfill, as transition tables (governance.transitions).

Rendered in docs/MIGRATIONS.md from this module; tests/governance/test_transition_tables.py keeps them equal.
"""

from __future__ import annotations

from governance.transitions import TransitionTable
from schemaplans.models import Backfill, SchemaPlan

P = SchemaPlan.Status
B = Backfill.Status

# Forward along the flow, plus the ways back that real changes need: another backfill pass after mismatches,
# and a fresh verification of a verified plan. `verified` is reached only through verification runs.
PLAN = TransitionTable(
    name="schema plan",
    states=(P.PLANNED, P.EXPANDED, P.BACKFILLING, P.BACKFILLED, P.VERIFYING, P.VERIFIED, P.CONTRACTED),
    changed_at_field="status_changed_at",
    moves={
        (P.PLANNED, P.EXPANDED): "the expand migration is deployed (the expand release version may be recorded)",
        (P.EXPANDED, P.BACKFILLING): "a backfill of the plan started (or an operator moved it)",
        (P.BACKFILLING, P.BACKFILLED): "every backfill of the plan completed or was cancelled",
        (P.BACKFILLED, P.BACKFILLING): "another backfill pass is needed",
        (P.BACKFILLED, P.VERIFYING): "the plan has a verification query",
        (P.VERIFYING, P.VERIFIED): "verification runs only: N consecutive zero runs spanning the window",
        (P.VERIFYING, P.BACKFILLING): "mismatches found: another backfill pass",
        (P.VERIFIED, P.VERIFYING): "verify again",
        (P.VERIFIED, P.CONTRACTED): "the expand release version is recorded (the rollback horizon)",
    },
)

BACKFILL = TransitionTable(
    name="backfill",
    states=(B.PENDING, B.AWAITING_APPROVAL, B.RUNNING, B.PAUSED, B.COMPLETED, B.CANCELLED),
    moves={
        (B.PENDING, B.AWAITING_APPROVAL): "start asked where a second person is required",
        (B.PENDING, B.RUNNING): "started where no second person is required",
        (B.PENDING, B.CANCELLED): "cancelled with a reason",
        (B.AWAITING_APPROVAL, B.RUNNING): "start approved by someone other than who asked",
        (B.AWAITING_APPROVAL, B.CANCELLED): "cancelled with a reason",
        (B.RUNNING, B.PAUSED): "paused by an operator, or by the engine on an error",
        (B.RUNNING, B.COMPLETED): "the engine reached the upper bound",
        (B.RUNNING, B.CANCELLED): "cancelled with a reason",
        (B.PAUSED, B.RUNNING): "resumed from the last checkpoint",
        (B.PAUSED, B.CANCELLED): "cancelled with a reason",
    },
)
