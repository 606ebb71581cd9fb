"""Every state change of flags: each takes `actor` and `reason`, locks what it changes, records both.

Exposure rules (docs/FLAGS.md): a change that reduces exposure (engage a kill switch, enter
maintenance, turn a flag off, narrow a rollout, lower an operational number) applies at once; one
that widens it, in an environment with `requires_second_person`, becomes a ChangeRequest that
someone other than its author approves. Every applied change takes a new revision from one
sequence, so the snapshot revision (the highest of an environment's states) grows on each change.
"""

from flags.services.approvals import (
    apply_due_scheduled_changes,
    approve_change_request,
    approve_scheduled_change,
    cancel_scheduled_change,
    reject_change_request,
    schedule_change,
)
from flags.services.changes import (
    _apply,
    _lock,
    change_state,
    disengage_kill_switch,
    engage_kill_switch,
    enter_maintenance,
    exit_maintenance,
    revert_expired,
    set_enabled,
    set_number,
    set_strategies,
    state_for,
    widens_exposure,
)
from flags.services.common import (
    BUILTIN_FLAGS,
    KILL_API,
    KILL_DATABASE,
    KNOWN_OPERATORS,
    KNOWN_STRATEGIES,
    MAINTENANCE,
    RATE_MULTIPLIER,
    Outcome,
    StaleRevision,
    fit_reason,
    next_revision,
)
from flags.services.definitions import (
    archive_flag,
    create_flag,
    ensure_builtin_flags,
    on_service_created,
    purge_sdk_instances,
    record_sdk_heartbeat,
    save_segment,
    update_flag,
    validate_definition,
)

__all__ = [
    "BUILTIN_FLAGS", "KILL_API", "KILL_DATABASE",
    "KNOWN_OPERATORS", "KNOWN_STRATEGIES", "MAINTENANCE", "RATE_MULTIPLIER", "Outcome", "StaleRevision", "_apply",
    "_lock", "apply_due_scheduled_changes", "approve_change_request", "approve_scheduled_change", "archive_flag",
    "cancel_scheduled_change", "change_state", "create_flag", "disengage_kill_switch", "engage_kill_switch",
    "ensure_builtin_flags", "enter_maintenance", "exit_maintenance", "fit_reason", "next_revision",
    "on_service_created", "purge_sdk_instances", "record_sdk_heartbeat", "reject_change_request", "revert_expired", "save_segment",
    "schedule_change", "set_enabled", "set_number", "set_strategies", "state_for", "update_flag",
    "validate_definition", "widens_exposure",
]
