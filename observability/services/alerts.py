"""SLO alerts: open, resolve and reconcile burn-rate and missed-run alerts, acknowledge, and their messages
through the portal's one routing path (governance.notifications)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance import hooks
from governance import services as core
from governance.audit_base import history_recorded_by_caller
from governance.notifications import notify, routing
from observability import queries, slo_math
from observability.models import NotificationDelivery, SloAlert

SOURCE = "governance-portal/slo"


def _duration(delta: timedelta) -> str:
    return queries.slo_math_window(delta)


def _burn_key(slo_id: int, decision: slo_math.AlertDecision) -> str:
    return f"burn:{slo_id}:{_duration(decision.long_window)}/{_duration(decision.short_window)}"


def _notify_on_commit(alert: SloAlert, event: str) -> None:
    from django_q.tasks import async_task

    alert_id = alert.pk
    transaction.on_commit(lambda: async_task("observability.tasks.notify_alert", alert_id, event))


def _open_alert(*, actor: Any, reason: str, now: datetime, **fields: Any) -> SloAlert:
    alert = SloAlert(opened_at=now, last_seen_at=now, **fields)
    alert.stamp(actor=actor, reason=reason)
    alert.save()
    _notify_on_commit(alert, "opened")
    for hook in hooks.ALERT_OPENED:
        hook(alert_id=alert.pk, service_id=alert.service_id, action=alert.action, summary=alert.summary)
    return alert


def _resolve_alert(alert: SloAlert, *, actor: Any, reason: str, now: datetime) -> SloAlert:
    alert.resolved_at = now
    alert.stamp(actor=actor, reason=reason)
    alert.save(update_fields=["resolved_at"])
    _notify_on_commit(alert, "resolved")
    return alert


def reconcile_alerts(statuses: Sequence[queries.SloStatus], *, actor: Any, reason: str,
                     now: datetime, full: bool = False) -> tuple[int, int]:
    """Open an alert for each newly firing (SLO, window pair), resolve the ones that stopped firing.

    One open alert per key (a partial unique index backs it); an SLO without figures keeps its alerts
    as they are (no evidence either way). `full`: also resolve alerts of SLOs that were disabled.
    """
    checked = {s.slo.pk for s in statuses}
    open_by_key = {a.dedupe_key: a for a in SloAlert.objects.select_for_update()
                   .filter(kind=SloAlert.Kind.BURN_RATE, resolved_at__isnull=True, slo_id__in=checked)}
    opened = resolved = 0
    still_firing: list[int] = []
    for status in statuses:
        if status.error or status.report is None:
            continue
        d = status.definition
        for decision in status.decisions:
            key = _burn_key(status.slo.pk, decision)
            current = open_by_key.get(key)
            if decision.firing and current is not None:
                still_firing.append(current.pk)
            elif decision.firing:
                summary = (f"{d.service}/{d.environment}: {d.name} burning budget ({decision.action.value}, "
                           f"{_duration(decision.long_window)}/{_duration(decision.short_window)} > "
                           f"{float(decision.factor):g}x)")
                _open_alert(actor=actor, reason=reason, now=now, kind=SloAlert.Kind.BURN_RATE, dedupe_key=key,
                            slo=status.slo, service=status.slo.service, severity=decision.severity,
                            action=decision.action.value, long_window=decision.long_window,
                            short_window=decision.short_window, factor=float(decision.factor),
                            long_burn_rate=float(decision.long_burn_rate),
                            short_burn_rate=float(decision.short_burn_rate), summary=summary[:300])
                opened += 1
            elif current is not None:
                _resolve_alert(current, actor=actor, reason=f"{reason}: burn rate back under the threshold", now=now)
                resolved += 1
    if still_firing:
        # last_seen_at is telemetry on a governed row: written without a history record (like a token's last use).
        with history_recorded_by_caller():
            SloAlert.objects.filter(pk__in=still_firing).update(last_seen_at=now)
    if full:
        orphans = SloAlert.objects.select_for_update().filter(kind=SloAlert.Kind.BURN_RATE, resolved_at__isnull=True,
                                                              slo__enabled=False)
        for alert in orphans:
            _resolve_alert(alert, actor=actor, reason=f"{reason}: the SLO is disabled", now=now)
            resolved += 1
    return opened, resolved


@transaction.atomic
def _reconcile_missed_run(*, kind: str, stale: bool, detail: str, actor: Any, now: datetime) -> None:
    key = f"missed:{kind}"
    current = SloAlert.objects.select_for_update().filter(dedupe_key=key, resolved_at__isnull=True).first()
    if stale and current is None:
        _open_alert(actor=actor, reason="slo staleness check", now=now, kind=SloAlert.Kind.MISSED_RUN,
                    dedupe_key=key, severity=SloAlert.Severity.WARNING,
                    summary=f"SLO checker missed its {kind} run: {detail}"[:300])
    elif not stale and current is not None:
        _resolve_alert(current, actor=actor, reason=f"slo staleness check: {detail}", now=now)


@transaction.atomic
def acknowledge_alert(*, alert: SloAlert, actor: Any, reason: str) -> SloAlert:
    """Say someone is on it (the runbook's first step); acknowledging twice keeps the first."""
    alert = SloAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.acknowledged_at is not None:
        return alert
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = actor.get_username()
    alert.stamp(actor=actor, reason=core.require_reason(reason))
    alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


def alert_message(alert: SloAlert, event: str) -> notify.Message:
    base = settings.PORTAL_URL.rstrip("/")
    url = f"{base}/{settings.ADMIN_PATH}observability/slo/service/{alert.service_id}/" if base and alert.service_id \
        else None
    if alert.kind == SloAlert.Kind.BURN_RATE and alert.slo is not None:
        # the checker opens burn-rate alerts with both windows
        assert alert.long_window is not None and alert.short_window is not None
        message = notify.message_for_alert(
            slo_name=alert.slo.name, service=alert.slo.service.slug, environment=alert.slo.environment.slug,
            severity=alert.severity, action=alert.action, factor=alert.factor or 0.0,
            long_window=_duration(alert.long_window), short_window=_duration(alert.short_window),
            long_burn_rate=alert.long_burn_rate or 0.0, short_burn_rate=alert.short_burn_rate or 0.0, url=url)
    else:
        message = notify.Message(severity=notify.Severity(alert.severity), title=alert.summary,
                                 text="Scheduled SLO checks are late: burn-rate alerts are not being evaluated. "
                                      "Check the django-q2 worker (see docs/SLOs.md, 'When an alert fires').",
                                 fields={"Alert": alert.dedupe_key}, url=url)
    message = replace(message, dedup_key=f"slo-alert:{alert.pk}", source=SOURCE)
    if event == "resolved":
        message = replace(message, title=f"RESOLVED: {message.title}", resolve=True,
                          text=f"Resolved at {alert.resolved_at:%Y-%m-%d %H:%M} UTC. {message.text}")
    return message


def deliver_alert_notifications(*, alert: SloAlert, event: str,
                                client: Any = None) -> list[NotificationDelivery]:
    """Send an alert's opened/resolved message through the one routing path; each try is recorded as a delivery."""
    routing.dispatch(alert_message(alert, event), service_id=alert.service_id, event=event, alert_id=alert.pk,
                     client=client)
    return list(NotificationDelivery.objects.filter(alert=alert, event=event).order_by("channel_name"))
