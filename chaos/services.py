"""Every state change of chaos drills: faults, halt-all, experiments, runs, policies (audited, atomic).

Safety rules (docs/CHAOS.md § Safety): every fault has a TTL of at most CHAOS_MAX_TTL_SECONDS and a
share of at most CHAOS_MAX_SHARE; an environment refuses chaos unless its policy allows it (allowed by
default outside production); production also needs a second person's approval on the run
(`governance.queries.second_person_refusal`). A fault change is announced like a flag change
(hooks.SNAPSHOT_CHANGED), so every streaming SDK drops a removed fault within seconds.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chaos import definitions
from chaos.models import ChaosPolicy, Experiment, Fault, FaultKind, Run, RunLease, RunStatus
from governance import hooks
from governance.models import Environment, Service
from governance.reasons import fit_reason, require_reason

log = logging.getLogger("chaos")

BREAK_GLASS_HALT = "halt-chaos"

# Parameters each kind accepts: name -> (type, minimum, maximum). Anything else is refused.
_NUMBER = (int, float)
PARAMS: dict[str, dict[str, tuple[Any, float | None, float | None]]] = {
    FaultKind.DB_DOWN: {"mode": (str, None, None)},
    FaultKind.DB_LATENCY: {"ms": (_NUMBER, 0, 60_000), "jitter_ms": (_NUMBER, 0, 60_000)},
    FaultKind.DB_ERRORS: {"share": (_NUMBER, 0, 1), "writes_only": (bool, None, None), "first_n": (int, 1, 10**9)},
    FaultKind.SLOW_QUERIES: {"statement_timeout_ms": (int, 1, 600_000)},
    FaultKind.HTTP_ERRORS: {"status": (int, 500, 599)},
    FaultKind.HTTP_LATENCY: {"ms": (_NUMBER, 0, 60_000), "jitter_ms": (_NUMBER, 0, 60_000)},
    FaultKind.THROTTLE: {"rate_factor": (_NUMBER, 0, 1), "retry_after": (int, 1, 3600)},
}
DEFAULTS: dict[str, dict[str, Any]] = {
    FaultKind.DB_DOWN: {"mode": "refuse"},
    FaultKind.DB_LATENCY: {"ms": 300, "jitter_ms": 0},
    FaultKind.DB_ERRORS: {"share": 1.0, "writes_only": False, "first_n": None},
    FaultKind.HTTP_ERRORS: {"status": 503},
    FaultKind.HTTP_LATENCY: {"ms": 300, "jitter_ms": 0},
    FaultKind.THROTTLE: {"rate_factor": 0.1, "retry_after": 1},
}
REQUIRED: dict[str, set[str]] = {FaultKind.SLOW_QUERIES: {"statement_timeout_ms"}}


def announce() -> None:
    """Rebuild and push every snapshot (inside the writing transaction: published at commit)."""
    for changed in hooks.SNAPSHOT_CHANGED:
        changed()


def report_drill(*, service: Service, environment: Environment, actor: Any, reason: str,
                 now: datetime | None = None) -> None:
    """Tell hooks.DRILL_FAULTS whether the service has faults in force now (the status page shows it): in
    `environment`, or for a production environment in any production environment (status components belong to
    the service, not to one environment)."""
    faults = Fault.objects.active(now).filter(service=service)
    if environment.is_production:
        faults = faults.filter(environment__is_production=True)
    else:
        faults = faults.filter(environment=environment)
    active = faults.exists()
    for receiver in hooks.DRILL_FAULTS:
        receiver(service=service, environment=environment, active=active, actor=actor, reason=reason)


# --- policy ----------------------------------------------------------------------------------------

def chaos_allowed(environment: Environment) -> bool:
    policy = ChaosPolicy.objects.filter(environment=environment).first()
    return policy.allow_chaos if policy is not None else not environment.is_production


def check_environment(environment: Environment, *, run: Run | None = None) -> None:
    """ValidationError unless chaos may run in `environment` (and, in production, the run was approved)."""
    if not chaos_allowed(environment):
        raise ValidationError({"environment": f"Chaos is not allowed in '{environment.slug}' (its chaos policy)."})
    if environment.is_production and (run is None or run.approved_by_id is None):
        raise ValidationError({"environment": f"'{environment.slug}' is production: faults come only from a run "
                                              "approved by a second person."})


@transaction.atomic
def set_policy(*, environment: Environment, allow_chaos: bool, actor: Any, reason: str) -> ChaosPolicy:
    policy = ChaosPolicy.objects.select_for_update().filter(environment=environment).first()
    if policy is None:
        policy = ChaosPolicy(environment=environment)
    policy.allow_chaos = allow_chaos
    policy.stamp(actor=actor, reason=require_reason(reason))
    policy.save()
    return policy


# --- faults ----------------------------------------------------------------------------------------

def clean_params(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    if kind not in PARAMS:
        raise ValidationError({"kind": f"Unknown fault kind '{kind}'; one of {', '.join(PARAMS)}."})
    if params is not None and not isinstance(params, dict):
        raise ValidationError({"params": "Must be an object."})
    given = dict(params or {})
    allowed = PARAMS[kind]
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValidationError({"params": f"{kind} does not take {', '.join(unknown)}; it takes "
                                         f"{', '.join(allowed) or 'nothing'}."})
    missing = sorted(REQUIRED.get(kind, set()) - set(given))
    if missing:
        raise ValidationError({"params": f"{kind} needs {', '.join(missing)}."})
    cleaned = {**DEFAULTS.get(kind, {}), **given}
    for name, value in cleaned.items():
        expected, low, high = allowed[name]
        if value is None and name == "first_n":
            continue
        if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):
            raise ValidationError({"params": f"{name} has the wrong type."})
        if low is not None and high is not None and not low <= value <= high:
            raise ValidationError({"params": f"{name} must be between {low} and {high}."})
    if kind == FaultKind.DB_DOWN and cleaned["mode"] not in ("refuse", "error"):
        raise ValidationError({"params": "mode must be 'refuse' or 'error'."})
    return cleaned


def clean_scope(scope: dict[str, Any] | None) -> dict[str, Any]:
    if scope is not None and not isinstance(scope, dict):
        raise ValidationError({"scope": "Must be an object."})
    given = dict(scope or {})
    unknown = sorted(set(given) - {"share", "paths", "header"})
    if unknown:
        raise ValidationError({"scope": f"Unknown scope members: {', '.join(unknown)}."})
    share = given.get("share", settings.CHAOS_MAX_SHARE)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise ValidationError({"scope": "share must be a number in (0, 1]."})
    if share > settings.CHAOS_MAX_SHARE:
        raise ValidationError({"scope": f"share {share} is over the blast-radius limit CHAOS_MAX_SHARE "
                                        f"({settings.CHAOS_MAX_SHARE})."})
    paths = given.get("paths") or []
    if not isinstance(paths, list) or not all(isinstance(p, str) and p.startswith("/") and len(p) <= 200
                                              for p in paths) or len(paths) > 20:
        raise ValidationError({"scope": "paths must be a list of at most 20 path prefixes starting with '/'."})
    header = given.get("header")
    if header is not None and not (isinstance(header, dict) and set(header) == {"name", "value"}
                                   and all(isinstance(v, str) and 0 < len(v) <= 200 for v in header.values())):
        raise ValidationError({"scope": "header must be {\"name\": …, \"value\": …} or null."})
    return {"share": float(share), "paths": paths, "header": header}


@transaction.atomic
def create_fault(*, service: Service, environment: Environment, kind: str, params: dict[str, Any] | None = None,
                 scope: dict[str, Any] | None = None, ttl_seconds: int, actor: Any, reason: str,
                 run: Run | None = None, now: datetime | None = None) -> Fault:
    reason = require_reason(reason)
    check_environment(environment, run=run)
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds <= 0:
        raise ValidationError({"ttl_seconds": "A fault needs a positive TTL (seconds)."})
    if ttl_seconds > settings.CHAOS_MAX_TTL_SECONDS:
        raise ValidationError({"ttl_seconds": f"{ttl_seconds} s is over CHAOS_MAX_TTL_SECONDS "
                                              f"({settings.CHAOS_MAX_TTL_SECONDS} s)."})
    now = now or timezone.now()
    fault = Fault(service=service, environment=environment, kind=kind, params=clean_params(kind, params),
                  scope=clean_scope(scope), created_at=now, expires_at=now + timedelta(seconds=ttl_seconds),
                  run=run, created_by=actor, reason=reason)
    fault.stamp(actor=actor, reason=reason)
    fault.save()
    announce()
    report_drill(service=service, environment=environment, actor=actor, reason=reason, now=now)
    return fault


def _remove(fault: Fault, *, actor: Any, reason: str, now: datetime) -> None:
    fault.removed_at, fault.removed_by, fault.removal_reason = now, actor, reason
    fault.stamp(actor=actor, reason=reason)
    fault.save(update_fields=["removed_at", "removed_by", "removal_reason"])


@transaction.atomic
def remove_fault(*, fault: Fault, actor: Any, reason: str) -> Fault:
    reason = require_reason(reason)
    fault = Fault.objects.select_for_update().get(pk=fault.pk)
    if fault.removed_at is not None:
        raise ValidationError(f"Fault {fault.pk} was already removed ({fault.removal_reason}).")
    _remove(fault, actor=actor, reason=reason, now=timezone.now())
    announce()
    report_drill(service=fault.service, environment=fault.environment, actor=actor, reason=reason)
    return fault


@transaction.atomic
def remove_faults(*, faults: Any, actor: Any, reason: str) -> list[Fault]:
    """Remove every fault of `faults` (a queryset) still in force; announced once."""
    reason = require_reason(reason)
    now = timezone.now()
    removed = list(faults.select_for_update().filter(removed_at__isnull=True, expires_at__gt=now).order_by("pk"))
    for fault in removed:
        _remove(fault, actor=actor, reason=reason, now=now)
    if removed:
        announce()
    for service, environment in {(fault.service, fault.environment) for fault in removed}:
        report_drill(service=service, environment=environment, actor=actor, reason=reason)
    return removed


def halt_all(*, actor: Any, reason: str, before: datetime | None = None) -> list[Fault]:
    """Remove every active fault everywhere (the halt-all button, API and command)."""
    faults = Fault.objects.all() if before is None else Fault.objects.filter(created_at__lte=before)
    removed = remove_faults(faults=faults, actor=actor, reason=fit_reason(f"halt all chaos: {require_reason(reason)}"))
    log.warning("chaos: halt all by %s removed %d fault(s): %s", actor, len(removed), reason)
    return removed


def halt_all_break_glass(*, reason: str, operator: str | None = None, actor_username: str | None = None) -> dict[str, Any]:
    """Halt all while the database is down: a break-glass entry every portal process applies at once
    (no snapshot carries a fault while it is pending), recorded by `halt_all` when the database is back."""
    from flags import breakglass

    return breakglass.add(service=breakglass.EVERYWHERE, environment=breakglass.EVERYWHERE, flag="",
                          action=BREAK_GLASS_HALT, reason=require_reason(reason), operator=operator,
                          actor_username=actor_username)


def replay_break_glass_halt(*, entry: dict[str, Any], actor: Any) -> str:
    """hooks.BREAK_GLASS_ACTIONS: the halt written while the database was down, now recorded."""
    created = datetime.fromisoformat(entry["created_at"])
    removed = halt_all(actor=actor, before=created,
                       reason=fit_reason(f"break-glass {created:%H:%M} UTC by "
                                         f"{entry.get('operator', '?').split('@')[0]}: {entry['reason']}"))
    return f"halted {len(removed)} fault(s)"


# --- experiments -----------------------------------------------------------------------------------

@transaction.atomic
def save_experiment(*, service: Service, key: str, definition: dict[str, Any], actor: Any, reason: str,
                    builtin: bool = False, schedule_cron: str | None = None) -> Experiment:
    """Create the experiment, or store a new version of it (history keeps every earlier definition)."""
    reason = require_reason(reason)
    definition = definitions.validate(definition)
    if schedule_cron:
        definitions.validate_cron(schedule_cron)
    experiment = Experiment.objects.select_for_update().filter(service=service, key=key).first()
    if experiment is None:
        experiment = Experiment(service=service, key=key, builtin=builtin)
    elif experiment.definition == definition and schedule_cron in (None, experiment.schedule_cron):
        return experiment
    else:
        experiment.version += 1
    experiment.title = definition["title"][:200]
    experiment.definition = definition
    if schedule_cron is not None:
        experiment.schedule_cron = schedule_cron
    experiment.full_clean(exclude=["definition"])
    experiment.stamp(actor=actor, reason=reason)
    experiment.save()
    return experiment


# --- runs --------------------------------------------------------------------------------------------

def _enqueue(run: Run) -> None:
    from django_q.tasks import async_task

    pk = run.pk
    transaction.on_commit(lambda: async_task("chaos.tasks.execute_run", pk, task_name=f"chaos run #{pk}"))


@transaction.atomic
def request_run(*, experiment: Experiment, environment: Environment, actor: Any, reason: str) -> Run:
    """A run of the experiment's current version; queued at once, or (production) when a second person approves."""
    reason = require_reason(reason)
    if not chaos_allowed(environment):
        raise ValidationError({"environment": f"Chaos is not allowed in '{environment.slug}' (its chaos policy)."})
    run = Run(experiment=experiment, experiment_version=experiment.version, definition=experiment.definition,
              service=experiment.service, environment=environment, requested_by=actor, reason=reason)
    run.stamp(actor=actor, reason=reason)
    run.save()
    if not environment.is_production:
        _enqueue(run)
    return run


@transaction.atomic
def approve_run(*, run: Run, actor: Any, reason: str) -> Run:
    from governance.queries import second_person_refusal

    reason = require_reason(reason)
    run = Run.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.PENDING or run.approved_by_id is not None:
        raise ValidationError(f"Run #{run.pk} is {run.status}{' and approved' if run.approved_by_id else ''}.")
    refusal = second_person_refusal(actor, authors=[run.requested_by])
    if refusal:
        raise ValidationError(refusal)
    run.approved_by, run.approved_at = actor, timezone.now()
    run.stamp(actor=actor, reason=reason)
    run.save(update_fields=["approved_by", "approved_at"])
    _enqueue(run)
    return run


def claim_run(*, run_id: int, worker: str, actor: Any) -> Run | None:
    """The worker takes a pending run (once): running, with a lease. None when it is not pending any more."""
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != RunStatus.PENDING:
            return None
        if run.environment.is_production and run.approved_by_id is None:
            return None
        now = timezone.now()
        run.status, run.started_at = RunStatus.RUNNING, now
        run.stamp(actor=actor, reason=f"chaos engine: run started on {worker}")
        run.save(update_fields=["status", "started_at"])
        RunLease.objects.update_or_create(run=run, defaults={
            "worker": worker[:200], "renewed_at": now,
            "expires_at": now + timedelta(seconds=settings.CHAOS_LEASE_SECONDS)})
        return run


def renew_lease(*, run: Run) -> None:
    now = timezone.now()
    RunLease.objects.filter(run=run).update(renewed_at=now,
                                             expires_at=now + timedelta(seconds=settings.CHAOS_LEASE_SECONDS))


@transaction.atomic
def record_phases(*, run: Run, phases: list[dict[str, Any]], actor: Any) -> None:
    run.phases = phases
    run.stamp(actor=actor, reason=f"chaos engine: phase {phases[-1]['name'] if phases else '-'}")
    run.save(update_fields=["phases"])


@transaction.atomic
def finish_run(*, run: Run, status: str, verdict: str, phases: list[dict[str, Any]], actor: Any,
               reason: str = "chaos engine: run finished") -> Run:
    """Close the run (removing any fault of it still in force) and write its report."""
    from chaos import reports

    run = Run.objects.select_for_update().get(pk=run.pk)
    if run.finished:
        return run
    remove_faults(faults=Fault.objects.filter(run=run), actor=actor,
                  reason=fit_reason(f"chaos run #{run.pk} ended ({status}): rollback"))
    run.status, run.verdict, run.phases, run.ended_at = status, verdict, phases, timezone.now()
    run.report_markdown = reports.markdown(run)
    run.stamp(actor=actor, reason=require_reason(reason))
    run.save(update_fields=["status", "verdict", "phases", "ended_at", "report_markdown"])
    RunLease.objects.filter(run=run).delete()
    tag_sli_points(run=run)
    if status != RunStatus.COMPLETED:
        from chaos import alerts

        finished = run
        transaction.on_commit(lambda: alerts.send_run_finished(finished))
    return run


def tag_sli_points(*, run: Run | None = None, faults: Any = None) -> int:
    """Tag the SLI points of the minutes a fault was in force (chaos-caused burn is shown apart)."""
    from chaos import queries

    return queries.tag_sli_points(faults if faults is not None else Fault.objects.filter(run=run))


def watchdog(*, actor: Any, now: datetime | None = None) -> dict[str, int]:
    """Runs whose worker lease ran out: interrupted, their faults removed. Also tags recent SLI points."""
    now = now or timezone.now()
    interrupted = 0
    stale = Run.objects.filter(status=RunStatus.RUNNING).filter(lease__expires_at__lt=now)
    lost = Run.objects.filter(status=RunStatus.RUNNING, lease__isnull=True,
                              started_at__lt=now - timedelta(seconds=settings.CHAOS_LEASE_SECONDS))
    for run in [*stale, *lost]:
        phases = list(run.phases or [])
        phases.append({"name": "watchdog", "status": "interrupted", "started_at": now.isoformat(),
                       "ended_at": timezone.now().isoformat(), "probes": [],
                       "detail": "the worker's lease ran out; faults removed by the watchdog"})
        finish_run(run=run, status=RunStatus.INTERRUPTED, phases=phases, actor=actor,
                   verdict="interrupted: the worker running the drill stopped renewing its lease",
                   reason="chaos watchdog: the run's worker lease ran out")
        interrupted += 1
    orphans = Fault.objects.active(now).filter(run__status__in=[s.value for s in RunStatus
                                                                 if s not in (RunStatus.RUNNING, RunStatus.PENDING)])
    removed = remove_faults(faults=orphans, actor=actor, reason="chaos watchdog: the fault's run has ended")
    # Faults that only ran out (TTL) were never removed: report the production targets that have any, however
    # long ago (a worker down for hours must not leave a drill shown); receivers are idempotent and cheap.
    expired = (Fault.objects.filter(removed_at__isnull=True, expires_at__lte=now, environment__is_production=True)
               .values_list("service_id", "environment_id").distinct().order_by())
    for service_id, environment_id in expired:
        report_drill(service=Service.objects.get(pk=service_id), environment=Environment.objects.get(pk=environment_id),
                     actor=actor, reason="chaos watchdog: the drill's faults ran out (TTL)", now=now)
    tag_sli_points(faults=Fault.objects.filter(created_at__gte=now - timedelta(hours=2)))
    return {"interrupted": interrupted, "orphans_removed": len(removed)}
