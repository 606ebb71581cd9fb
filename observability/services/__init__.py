"""Every state change of the observability app, by responsibility:

- `definitions`: SLO definitions (create, update, seed, import) and SLI telemetry (ingest, retention);
- `checker`: snapshots, the scheduled checker and its staleness check, deployment snapshots;
- `alerts`: burn-rate and missed-run alerts, acknowledgement, their messages and deliveries;
- `overrides`: error-budget overrides;
- `channels`: notification channel rows and delivery records (routing itself: `governance.notifications`).

Governed rows (Slo, SloAlert, NotificationChannel, ErrorBudgetOverride) are stamped with actor and reason;
telemetry (SLI points) and records (snapshots, check runs, deliveries) are plain rows. The names below are the
package's public surface (`from observability import services; services.create_slo(...)`).
"""

from observability.services.alerts import (
    acknowledge_alert,
    alert_message,
    deliver_alert_notifications,
    reconcile_alerts,
)
from observability.services.channels import channel_specs, record_deliveries, save_channel
from observability.services.checker import (
    CHECK_LOCK,
    Staleness,
    after_schedule_name,
    check_staleness,
    on_deployment_recorded,
    run_slo_check,
    snapshot_after_deployment,
    take_snapshots,
)
from observability.services.definitions import (
    SLO_FIELDS,
    ImportResult,
    create_slo,
    ensure_portal_service,
    import_slos,
    ingest_sli_points,
    on_service_created,
    purge_sli_points,
    seed_default_slos,
    update_slo,
)
from observability.services.overrides import (
    check_override_request,
    grant_error_budget_override,
    revoke_error_budget_override,
)

__all__ = [
    "CHECK_LOCK", "SLO_FIELDS", "ImportResult", "Staleness", "acknowledge_alert", "after_schedule_name",
    "alert_message", "channel_specs", "check_override_request", "check_staleness", "create_slo",
    "deliver_alert_notifications", "ensure_portal_service", "grant_error_budget_override", "import_slos",
    "ingest_sli_points", "on_deployment_recorded", "on_service_created", "purge_sli_points", "reconcile_alerts",
    "record_deliveries", "revoke_error_budget_override", "run_slo_check", "save_channel", "seed_default_slos",
    "snapshot_after_deployment", "take_snapshots", "update_slo",
]
