"""django-q2 entry points of the observability app: they take ids and call a service."""

from __future__ import annotations

from observability import services
from observability.models import SloAlert, SloCheckRun


def check_slos_hourly() -> str:
    """Scheduled every SLO_CHECK_INTERVAL_MINUTES (hourly by default): snapshots and burn-rate alerts."""
    run = services.run_slo_check(kind=SloCheckRun.Kind.HOURLY)
    return f"{run.status}: {run.slo_count} SLOs, {run.alerts_opened} opened, {run.alerts_resolved} resolved"


def check_slos_nightly() -> str:
    """Scheduled nightly: the full run (also resolves alerts of disabled SLOs and purges old telemetry)."""
    run = services.run_slo_check(kind=SloCheckRun.Kind.NIGHTLY)
    return f"{run.status}: {run.slo_count} SLOs, {run.alerts_opened} opened, {run.alerts_resolved} resolved"


def check_slo_schedule_staleness() -> str:
    results = services.check_staleness()
    return "; ".join(f"{r.kind}: {'LATE' if r.stale else 'ok'} ({r.detail})" for r in results)


def notify_alert(alert_id: int, event: str) -> str:
    alert = SloAlert.objects.select_related("slo__service", "slo__environment").get(pk=alert_id)
    deliveries = services.deliver_alert_notifications(alert=alert, event=event)
    return ", ".join(f"{d.channel_name}: {'ok' if d.delivered else d.error}" for d in deliveries) or "no channels"


def snapshot_after_deployment(deployment_id: int, service_id: int, environment_id: int) -> int:
    return len(services.snapshot_after_deployment(deployment_id=deployment_id, service_id=service_id,
                                                  environment_id=environment_id))
