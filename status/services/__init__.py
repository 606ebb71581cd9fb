"""Every state change of the status app (keyword-only, typed, atomic, actor and reason), by responsibility:
`components` (statuses, manual wins, the hooks, webhook subscribers) and `incidents` (incidents, maintenance,
updates, reminders). Callers import this package."""

from status.services.components import (
    PAGE_PROPOSAL,
    accept_proposal,
    apply_automatic_status,
    dismiss_proposal,
    on_alert_opened,
    on_drill_faults,
    on_maintenance_changed,
    release_manual_status,
    save_component,
    save_group,
    save_webhook_subscriber,
    set_component_status,
    set_webhook_components,
)
from status.services.incidents import (
    INCIDENT_FLOW,
    MAINTENANCE_FLOW,
    MAX_NEXT_UPDATE,
    assign_commander,
    open_incident,
    overdue_incidents,
    post_update,
    publish_incident,
    remind_overdue,
    reschedule_maintenance,
    save_incident,
    schedule_maintenance,
)

__all__ = [
    "INCIDENT_FLOW", "MAINTENANCE_FLOW", "MAX_NEXT_UPDATE", "PAGE_PROPOSAL", "accept_proposal",
    "apply_automatic_status", "assign_commander", "dismiss_proposal", "on_alert_opened", "on_drill_faults", "on_maintenance_changed",
    "open_incident", "overdue_incidents", "post_update", "publish_incident", "release_manual_status",
    "remind_overdue", "reschedule_maintenance", "save_component", "save_group", "save_incident", "save_webhook_subscriber",
    "schedule_maintenance", "set_component_status", "set_webhook_components",
]
