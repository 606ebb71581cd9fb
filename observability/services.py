"""Every state change of the observability app: SLO definitions, the checker, alerts, channels, overrides.

Governed rows (Slo, SloAlert, NotificationChannel, ErrorBudgetOverride) are stamped with actor and
reason; telemetry (SLI points) and records (snapshots, check runs, deliveries) are plain rows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from governance import hooks
from governance import services as core
from governance.audit_base import history_recorded_by_caller
from governance.locks import advisory_lock
from governance.models import Environment, Service
from observability import notify, queries, sli, slo_math
from observability.models import (
    ErrorBudgetOverride,
    NotificationChannel,
    NotificationDelivery,
    Slo,
    SloAlert,
    SloCheckRun,
    SloSnapshot,
)

log = logging.getLogger(__name__)

CHECK_LOCK = "observability:slo-check"  # advisory lock name (governance.locks): one checker run at a time
SLO_FIELDS = ["display_name", "description", "sli_type", "objective", "window_minutes", "min_events", "threshold_ms",
              "slice_error_threshold", "source", "prometheus_good_query", "prometheus_total_query", "enabled"]


# ---------------------------------------------------------------------------------------------
# SLO definitions
# ---------------------------------------------------------------------------------------------


def _fields_from_definition(definition: slo_math.SloDefinition) -> dict[str, Any]:
    return {
        "display_name": definition.display_name,
        "description": definition.description,
        "sli_type": definition.sli_type.value,
        "objective": definition.objective,
        "window_minutes": int(definition.window / timedelta(minutes=1)),
        "min_events": definition.min_events,
        "threshold_ms": definition.threshold_ms,
        "slice_error_threshold": definition.slice_error_threshold,
    }


def _validate_slo(slo: Slo) -> None:
    slo.full_clean()  # field validators and Slo.clean(): the maths' rules and the source's


@transaction.atomic
def create_slo(*, service: Service, environment: Environment, name: str, actor: Any, reason: str,
               **fields: Any) -> Slo:
    """Define an SLO; the definition is checked by the same rules as the maths (`SloDefinition`)."""
    if Slo.objects.filter(service=service, environment=environment, name=name).exists():
        raise ValidationError({"name": f"{service.slug}/{environment.slug} already has an SLO named '{name}'."})
    slo = Slo(service=service, environment=environment, name=name, **fields)
    _validate_slo(slo)
    slo.stamp(actor=actor, reason=core.require_reason(reason))
    slo.save()
    return slo


@transaction.atomic
def update_slo(*, slo: Slo, actor: Any, reason: str, **fields: Any) -> Slo:
    """Change an SLO's target or SLI; only the fields given (and actually different) are written."""
    unknown = set(fields) - set(SLO_FIELDS)
    if unknown:
        raise ValidationError({"__all__": f"These SLO fields cannot be changed here: {sorted(unknown)}"})
    slo = Slo.objects.select_for_update().select_related("service", "environment").get(pk=slo.pk)
    changed = [name for name, value in fields.items() if getattr(slo, name) != value]
    if not changed:
        return slo
    for name in changed:
        setattr(slo, name, fields[name])
    _validate_slo(slo)
    slo.stamp(actor=actor, reason=core.require_reason(reason))
    slo.save(update_fields=changed)
    return slo


@transaction.atomic
def seed_default_slos(*, service: Service, actor: Any, reason: str,
                      environments: Iterable[Environment] | None = None) -> list[Slo]:
    """The four default SLOs (slo_math.default_slos) in every environment; existing ones are left alone."""
    created = []
    for environment in environments if environments is not None else Environment.objects.all():
        existing = set(Slo.objects.filter(service=service, environment=environment).values_list("name", flat=True))
        for definition in slo_math.default_slos(environment.slug, service=service.slug):
            if definition.name in existing:
                continue
            created.append(create_slo(service=service, environment=environment, name=definition.name, actor=actor,
                                      reason=reason, **_fields_from_definition(definition)))
    return created


def on_service_created(*, service: Service, actor: Any, reason: str) -> None:
    """governance.hooks.SERVICE_CREATED: every new service starts with its default SLOs."""
    seed_default_slos(service=service, actor=actor, reason=f"default SLOs: {reason}")


@dataclass(frozen=True)
class ImportResult:
    created: list[Slo]
    updated: list[Slo]
    unchanged: list[Slo]


@transaction.atomic
def import_slos(*, definitions: Sequence[slo_math.SloDefinition], actor: Any, reason: str) -> ImportResult:
    """Create or update SLOs from definitions (OpenSLO import); all or nothing, errors name the document."""
    reason = core.require_reason(reason)
    services = {s.slug: s for s in Service.objects.filter(slug__in={d.service for d in definitions})}
    environments = {e.slug: e for e in Environment.objects.filter(slug__in={d.environment for d in definitions})}
    created: list[Slo] = []
    updated: list[Slo] = []
    unchanged: list[Slo] = []
    for index, definition in enumerate(definitions, start=1):
        where = f"SLO {index} ({definition.service}/{definition.environment}/{definition.name})"
        service = services.get(definition.service)
        if service is None:
            raise ValidationError({"spec.service": f"{where}: no service '{definition.service}'; "
                                                   "register it first (admin or POST /api/v1/services)."})
        environment = environments.get(definition.environment)
        if environment is None:
            raise ValidationError({"metadata.labels.environment": f"{where}: no environment "
                                                                  f"'{definition.environment}'."})
        fields = _fields_from_definition(definition)
        existing = Slo.objects.filter(service=service, environment=environment, name=definition.name).first()
        try:
            if existing is None:
                created.append(create_slo(service=service, environment=environment, name=definition.name,
                                          actor=actor, reason=reason, **fields))
                continue
            before = {name: getattr(existing, name) for name in fields}
            slo = update_slo(slo=existing, actor=actor, reason=reason, **fields)
            (updated if before != {name: getattr(slo, name) for name in fields} else unchanged).append(slo)
        except ValidationError as exc:
            raise ValidationError(f"{where}: {'; '.join(exc.messages)}") from None
    return ImportResult(created, updated, unchanged)


# ---------------------------------------------------------------------------------------------
# SLI points (telemetry)
# ---------------------------------------------------------------------------------------------


def ingest_sli_points(*, service: Service, environment: Environment, source: str,
                      points: Sequence[sli.Point]) -> sli.UpsertResult:
    """Store per-minute points; a minute already stored for this source is replaced, never added to."""
    sli.validate_source(source)
    if source.startswith(sli.RESERVED_SOURCE_PREFIX):
        raise ValidationError({"source": f"Sources starting with '{sli.RESERVED_SOURCE_PREFIX}' belong to the "
                                         "portal's own measurements."})
    with transaction.atomic():
        return sli.upsert_points(service_id=service.pk, environment_id=environment.pk, source=source, points=points)


def ensure_portal_service() -> tuple[int, int]:
    """(service id, environment id) of the portal's own service; created with its SLOs on first use."""
    env = Environment.objects.filter(slug=settings.SLO_SELF_ENVIRONMENT).first()
    if env is None:
        raise ValidationError(f"SLO_SELF_ENVIRONMENT '{settings.SLO_SELF_ENVIRONMENT}' does not exist.")
    service = Service.objects.filter(slug=settings.SLO_SELF_SERVICE).first()
    if service is None:
        try:
            with transaction.atomic():
                service = core.create_service(slug=settings.SLO_SELF_SERVICE, name="Governance portal",
                                              owners="platform", actor=core.system_user(),
                                              reason="self-measurement: the portal measures its own requests")
        except (IntegrityError, ValidationError):
            service = Service.objects.get(slug=settings.SLO_SELF_SERVICE)  # another worker created it first
    return service.pk, env.pk


@transaction.atomic
def purge_sli_points(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete points older than the retention (telemetry; no SLO window reaches that far back)."""
    from observability.models import SliPoint

    deleted, _ = SliPoint.objects.filter(minute__lt=(now or timezone.now()) - older_than).delete()
    return deleted


# ---------------------------------------------------------------------------------------------
# Snapshots, the checker and alerts
# ---------------------------------------------------------------------------------------------


def _duration(delta: timedelta) -> str:
    return queries.slo_math_window(delta)


def _snapshot(status: queries.SloStatus, *, kind: str, check_run: SloCheckRun | None = None,
              deployment_id: int | None = None, now: datetime) -> SloSnapshot:
    report = status.report
    burn = [{"long": _duration(x.long_window), "short": _duration(x.short_window), "factor": float(x.factor),
             "long_rate": float(x.long_burn_rate), "short_rate": float(x.short_burn_rate), "action": x.action.value,
             "firing": x.firing} for x in status.decisions]
    return SloSnapshot(
        slo=status.slo, kind=kind, taken_at=now, window_end=status.window_end, check_run=check_run,
        deployment_id=deployment_id, objective=status.slo.objective, window_minutes=status.slo.window_minutes,
        good=report.good if report else 0, total=report.total if report else 0,
        verdict=report.verdict.value if report else slo_math.Verdict.INSUFFICIENT_DATA.value,
        compliance=float(report.compliance) if report and report.compliance is not None else None,
        budget_remaining=float(report.remaining) if report else 0.0,
        budget_remaining_fraction=(float(report.remaining_fraction)
                                   if report and report.remaining_fraction is not None else None),
        burn_rates=burn, error=status.error or ("" if report else "no figures"),
    )


def take_snapshots(*, slos: Iterable[Slo], kind: str, deployment_id: int | None = None,
                   now: datetime | None = None) -> list[SloSnapshot]:
    """Snapshot SLOs at once (deployments, manual); a deployment's snapshot of one kind is taken once."""
    now = now or timezone.now()
    statuses = queries.slo_statuses(slos, now=now)
    rows = [_snapshot(s, kind=kind, deployment_id=deployment_id, now=now) for s in statuses]
    # ignore_conflicts: the hook or task may run twice for one deployment; the first snapshot stands.
    return SloSnapshot.objects.bulk_create(rows, ignore_conflicts=deployment_id is not None)


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


def run_slo_check(*, kind: str, now: datetime | None = None, slo_ids: Iterable[int] | None = None) -> SloCheckRun:
    """The checker: snapshot every enabled SLO, open and resolve burn-rate alerts; one run at a time.

    Nightly runs (kind "nightly") also purge SLI points past the retention and hourly snapshots past
    theirs. Runs as the system user; guarded by an advisory lock (governance.locks; a second run is recorded as skipped).
    """
    now = now or timezone.now()
    actor = core.system_user()
    with advisory_lock(CHECK_LOCK, wait=False, scope="session") as acquired:
        if not acquired:
            return SloCheckRun.objects.create(kind=kind, status=SloCheckRun.Status.SKIPPED, started_at=now,
                                              finished_at=timezone.now(), detail="another check holds the lock")
        run = SloCheckRun.objects.create(kind=kind, started_at=now, window_end=slo_math.window_end(now))
        try:
            slos = list(queries.slos_for_check(slo_ids=slo_ids))
            statuses = queries.slo_statuses(slos, now=now)
            with transaction.atomic():
                snapshot_kind = kind if kind in SloSnapshot.Kind.values else SloSnapshot.Kind.MANUAL
                SloSnapshot.objects.bulk_create(
                    [_snapshot(s, kind=snapshot_kind, check_run=run, now=now) for s in statuses], batch_size=500)
                opened, resolved = reconcile_alerts(statuses, actor=actor, reason=f"slo checker ({kind} run)",
                                                    now=now, full=slo_ids is None)
            details = []
            if kind == SloCheckRun.Kind.NIGHTLY:
                purged = purge_sli_points(older_than=timedelta(days=settings.SLI_RETENTION_DAYS), now=now)
                with transaction.atomic():
                    old, _ = SloSnapshot.objects.filter(
                        kind=SloSnapshot.Kind.HOURLY,
                        taken_at__lt=now - timedelta(days=settings.SLO_SNAPSHOT_RETENTION_DAYS)).delete()
                details.append(f"purged {purged} SLI points and {old} hourly snapshots")
            errors = [f"{s.slo}: {s.error}" for s in statuses if s.error]
            details += errors[:20]
        except Exception as exc:
            run.status, run.finished_at = SloCheckRun.Status.FAILED, timezone.now()
            run.detail = f"{type(exc).__name__}: {exc}"[:2000]
            run.save(update_fields=["status", "finished_at", "detail"])
            raise
        run.status, run.finished_at = SloCheckRun.Status.OK, timezone.now()
        run.slo_count, run.alerts_opened, run.alerts_resolved = len(statuses), opened, resolved
        run.detail = "\n".join(details)[:2000]
        run.save(update_fields=["status", "finished_at", "slo_count", "alerts_opened", "alerts_resolved", "detail"])
        return run


@dataclass(frozen=True)
class Staleness:
    kind: str
    stale: bool
    detail: str


def check_staleness(*, now: datetime | None = None) -> list[Staleness]:
    """Open a missed-run alert for each checker schedule that has not completed in time; resolve it once it has.

    A run is due every SLO_CHECK_INTERVAL_MINUTES (hourly) or every day (nightly); late means no
    successful run for the interval plus SLO_CHECK_GRACE_MINUTES. Never having run is late once the
    schedule exists and its first run is past the grace period.
    """
    from django_q.models import Schedule

    from observability.apps import HOURLY_SCHEDULE, NIGHTLY_SCHEDULE

    now = now or timezone.now()
    grace = timedelta(minutes=settings.SLO_CHECK_GRACE_MINUTES)
    expectations = [(SloCheckRun.Kind.HOURLY, HOURLY_SCHEDULE, timedelta(minutes=settings.SLO_CHECK_INTERVAL_MINUTES)),
                    (SloCheckRun.Kind.NIGHTLY, NIGHTLY_SCHEDULE, timedelta(days=1))]
    actor = core.system_user()
    results = []
    for kind, schedule_name, interval in expectations:
        last = (SloCheckRun.objects.filter(kind=kind, status=SloCheckRun.Status.OK)
                .order_by("-finished_at").values_list("finished_at", flat=True).first())
        if last is not None:
            age = now - last
            stale = age > interval + grace
            detail = f"last successful {kind} check {int(age.total_seconds() // 60)} min ago (due every " \
                     f"{int(interval.total_seconds() // 60)} min + {int(grace.total_seconds() // 60)} min grace)"
        else:
            schedule = Schedule.objects.filter(name=schedule_name).first()
            if schedule is None:
                stale, detail = True, f"the {kind} check is not scheduled (run manage.py ensure_schedules)"
            else:
                stale = schedule.next_run is not None and schedule.next_run < now - grace
                due = f"{schedule.next_run:%Y-%m-%d %H:%M}" if schedule.next_run else "not set"
                detail = f"the {kind} check has never completed (next run {due})"
        results.append(Staleness(kind, stale, detail))
        _reconcile_missed_run(kind=kind, stale=stale, detail=detail, actor=actor, now=now)
    return results


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


# ---------------------------------------------------------------------------------------------
# Deployments
# ---------------------------------------------------------------------------------------------


def after_schedule_name(deployment_id: int) -> str:
    return f"observability: SLO snapshot after deployment {deployment_id}"


def on_deployment_recorded(*, deployment: Any) -> None:
    """governance.hooks.DEPLOYMENT_RECORDED: snapshot a production deployment's SLOs now and again later.

    Uses only deployment.pk, deployment.environment and deployment.release.service_id (the releases
    app is not imported). The "after" snapshot is a django-q2 schedule SLO_SNAPSHOT_AFTER_MINUTES on.
    """
    from django_q.models import Schedule
    from django_q.tasks import schedule

    environment = deployment.environment
    if not environment.is_production:
        return
    service_id = deployment.release.service_id
    slos = queries.slos_for_check().filter(service_id=service_id, environment_id=environment.pk)
    take_snapshots(slos=slos, kind=SloSnapshot.Kind.DEPLOY_BEFORE, deployment_id=deployment.pk)
    name = after_schedule_name(deployment.pk)
    if not Schedule.objects.filter(name=name).exists():
        schedule("observability.tasks.snapshot_after_deployment", deployment.pk, service_id, environment.pk,
                 name=name, schedule_type=Schedule.ONCE,
                 next_run=timezone.now() + timedelta(minutes=settings.SLO_SNAPSHOT_AFTER_MINUTES))


def snapshot_after_deployment(*, deployment_id: int, service_id: int, environment_id: int) -> list[SloSnapshot]:
    slos = queries.slos_for_check().filter(service_id=service_id, environment_id=environment_id)
    return take_snapshots(slos=slos, kind=SloSnapshot.Kind.DEPLOY_AFTER, deployment_id=deployment_id)


# ---------------------------------------------------------------------------------------------
# Error-budget overrides
# ---------------------------------------------------------------------------------------------


def check_override_request(*, expires_at: datetime, actor: Any) -> None:
    """The rules of a grant (also run by the admin form, so a refusal shows on the form)."""
    if not actor.has_perm("observability.add_errorbudgetoverride"):
        raise ValidationError("Only a release manager may override the error budget.")
    now = timezone.now()
    if expires_at <= now:
        raise ValidationError({"expires_at": "The override must expire in the future."})
    if expires_at - now > timedelta(hours=settings.SLO_OVERRIDE_MAX_HOURS):
        raise ValidationError({"expires_at": f"An override may last at most {settings.SLO_OVERRIDE_MAX_HOURS} hours; "
                                             "grant a new one if the budget is still exhausted then."})


@transaction.atomic
def grant_error_budget_override(*, service: Service, expires_at: datetime, actor: Any, reason: str,
                                release_id: int | None = None) -> ErrorBudgetOverride:
    """Let releases of `service` (or one release) pass the error-budget gate until `expires_at`.

    Only users allowed to add overrides (release managers, administrators) may grant one.
    """
    reason = core.require_reason(reason)
    check_override_request(expires_at=expires_at, actor=actor)
    now = timezone.now()
    override = ErrorBudgetOverride(service=service, release_id=release_id, justification=reason,
                                   granted_by=actor.get_username(), created_at=now, expires_at=expires_at)
    override.full_clean()
    override.stamp(actor=actor, reason=reason)
    override.save()
    return override


@transaction.atomic
def revoke_error_budget_override(*, override: ErrorBudgetOverride, actor: Any, reason: str) -> ErrorBudgetOverride:
    override = ErrorBudgetOverride.objects.select_for_update().get(pk=override.pk)
    if override.revoked_at is not None:
        return override
    override.revoked_at = timezone.now()
    override.stamp(actor=actor, reason=core.require_reason(reason))
    override.save(update_fields=["revoked_at"])
    return override


# ---------------------------------------------------------------------------------------------
# Notification channels
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def save_channel(*, channel: NotificationChannel, actor: Any, reason: str,
                 update_fields: Iterable[str] | None = None) -> NotificationChannel:
    """Create or change a channel (validated by NotificationChannel.clean: webhooks name their secret's variable)."""
    return core.save_audited(instance=channel, actor=actor, reason=reason,
                             update_fields=update_fields)



def _channel_config(channel: NotificationChannel) -> tuple[notify.ChannelConfig | None, str]:
    """The router config of a channel, with its secret read from the environment; or why it cannot be used."""
    secret = None
    if channel.secret_env:
        secret = os.environ.get(channel.secret_env)
        if not secret:
            return None, f"the environment variable {channel.secret_env} holding the secret is not set"
    try:
        config = notify.ChannelConfig.from_dict(
            {"kind": channel.kind, "url": channel.url, "name": channel.name, "secret": secret,
             "severities": list(channel.severities)}, path=f"channel {channel.name}")
    except notify.ChannelConfigError as exc:
        return None, str(exc)
    return config, ""


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
    if event == "resolved":
        message = notify.Message(severity=message.severity, title=f"RESOLVED: {message.title}",
                                 text=f"Resolved at {alert.resolved_at:%Y-%m-%d %H:%M} UTC. {message.text}",
                                 fields=message.fields, url=message.url)
    return message


def deliver_alert_notifications(*, alert: SloAlert, event: str,
                                client: Any = None) -> list[NotificationDelivery]:
    """Send an alert's opened/resolved message to every enabled channel routed for its severity; record each try."""
    message = alert_message(alert, event)
    channels = NotificationChannel.objects.filter(enabled=True).filter(
        Q(service__isnull=True) | Q(service_id=alert.service_id)).order_by("name")
    deliveries: list[NotificationDelivery] = []
    usable: list[tuple[NotificationChannel, notify.ChannelConfig]] = []
    for channel in channels:
        config, problem = _channel_config(channel)
        if config is None:
            if message.severity.value in channel.severities:
                deliveries.append(NotificationDelivery(alert=alert, channel=channel, channel_name=channel.name,
                                                       event=event, delivered=False, error=problem))
            continue
        if config.accepts(message.severity):
            usable.append((channel, config))
    if usable:
        with notify.Router([config for _, config in usable], client=client,
                           max_attempts=settings.NOTIFY_MAX_ATTEMPTS) as router:
            results = router.send(message)
        for (channel, _), result in zip(usable, results, strict=True):
            deliveries.append(NotificationDelivery(
                alert=alert, channel=channel, channel_name=channel.name, event=event, delivered=result.delivered,
                attempts=result.attempts, status_code=result.status_code, error=result.error or ""))
    return NotificationDelivery.objects.bulk_create(deliveries)
