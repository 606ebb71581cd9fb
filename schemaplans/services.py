"""Every state change of schema plans and backfills. Each takes `actor` and `reason` and records both."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from governance import sql_rules
from governance.locks import advisory_lock
from governance.models import Environment
from governance.reasons import fit_reason
from governance.services import require_reason, require_second_person, save_audited
from schemaplans import databases, states
from schemaplans.models import Backfill, BackfillProgress, SchemaPlan, VerificationRun

Status = SchemaPlan.Status

# What a verification run proves depends on these: changing one makes earlier zero runs prove something else.
PROOF_FIELDS = ("table", "columns", "verification_sql", "database", "required_zero_runs", "verification_window")
VERIFICATION_STATEMENT_TIMEOUT = "60s"
# Derived reasons (that quote an engine error or wrap the operator's reason) are cut visibly to the stored limit
# (governance.reasons.fit_reason) rather than failing the change; the full error is kept on the row.
def _clip(reason: str) -> str:
    return require_reason(fit_reason((reason or "").strip()))




# --- schema plans ---------------------------------------------------------------------------------------------

@transaction.atomic
def create_plan(*, service: Any, slug: str, table: str, actor: Any, reason: str, **fields: Any) -> SchemaPlan:
    """Register a plan (status planned); `fields` are SchemaPlan's editable fields."""
    if SchemaPlan.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A schema plan with id '{slug}' already exists."})
    plan = SchemaPlan(service=service, slug=slug, table=table, **fields)
    plan.stamp(actor=actor, reason=_clip(reason))
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def update_plan(*, plan: SchemaPlan, fields: Iterable[str], actor: Any, reason: str) -> SchemaPlan:
    """Save edits already set on `plan` (`fields` names them).

    Editing what the proof depends on (PROOF_FIELDS) restarts it: a verifying or verified plan goes back to
    verifying with a fresh streak; a contracted plan's proof is history and is not edited.
    """
    current = SchemaPlan.objects.select_for_update().get(pk=plan.pk)
    fields = list(fields)
    proof = [f for f in fields if f in PROOF_FIELDS]
    if proof and current.status == Status.CONTRACTED:
        raise ValidationError(f"Plan '{current.slug}' is contracted: its {', '.join(proof)} can no longer change.")
    plan.status, plan.status_changed_at = current.status, current.status_changed_at
    if proof and current.status in (Status.VERIFYING, Status.VERIFIED):
        plan.status, plan.status_changed_at = Status.VERIFYING, timezone.now()
        fields += ["status", "status_changed_at"]
        reason = f"{require_reason(reason)} (verification restarted: {', '.join(proof)} changed)"
    return save_audited(instance=plan, actor=actor, reason=_clip(reason), update_fields=fields or None)


def _label(plan: SchemaPlan) -> str:
    return f"Plan '{plan.slug}'"


def _move_plan(plan: SchemaPlan, to: str, *, actor: Any, reason: str, **changes: Any) -> SchemaPlan:
    states.PLAN.apply(plan, to, actor=actor, reason=_clip(reason), label=_label(plan), changes=changes)
    return plan


@transaction.atomic
def transition_plan(*, plan: SchemaPlan, to: str, actor: Any, reason: str, release_version: str = "") -> SchemaPlan:
    """Move a plan along its flow; `release_version` records the expand release when moving to expanded."""
    plan = SchemaPlan.objects.select_for_update().get(pk=plan.pk)
    if to not in Status.values:
        raise ValidationError({"status": f"Unknown status {to!r}; one of {', '.join(Status.values)}."})
    if to == Status.VERIFIED:
        raise ValidationError({"status": "A plan becomes verified only through its verification runs "
                                         f"({plan.required_zero_runs} zero runs over {plan.verification_window})."})
    states.PLAN.check(plan, to, label=_label(plan))
    changes: dict[str, Any] = {}
    if release_version:
        if to != Status.EXPANDED:
            raise ValidationError({"release_version": "The release version is recorded when the plan is expanded."})
        changes["expand_release_version"] = release_version.strip()[:100]
    if to == Status.VERIFYING and not plan.verification_sql.strip():
        raise ValidationError({"verification_sql": "Write the verification query before verifying the plan."})
    if to == Status.CONTRACTED and not plan.expand_release_version:
        raise ValidationError({"expand_release_version": "Record the version of the expand release before "
                                                         "contracting: it is the rollback horizon."})
    return _move_plan(plan, to, actor=actor, reason=reason, **changes)


def _as_count(rows: list[tuple]) -> int:
    if len(rows) != 1 or len(rows[0]) != 1:
        raise ValueError(f"the verification query must return one row with one number, got {len(rows)} row(s)"
                         + (f" of {len(rows[0])} column(s)" if rows else ""))
    value = rows[0][0]
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value) or value < 0:
        raise ValueError(f"the verification query must return a count (an integer >= 0), got {value!r}")
    return int(value)


def run_verification_query(plan: SchemaPlan) -> tuple[int | None, str]:
    """(mismatching rows, "") or (None, error): the query runs in a read-only transaction on the plan's database."""
    # Checked again right before running (defence in depth: the row may predate the rules or bypass clean()).
    problem = databases.typed_sql_problem(sql_rules.VERIFICATION, plan.verification_sql, database=plan.database,
                                          table=plan.table)
    if problem:
        return None, f"refused by the SQL rules: {problem}"
    portal = plan.database == databases.DEFAULT
    try:
        with databases.connect(plan.database, application_name=f"plan-verify-{plan.pk}") as conn:
            conn.execute("SELECT set_config('statement_timeout', %s, false)", [VERIFICATION_STATEMENT_TIMEOUT])
            # On the portal's database: a role that may read the (non-portal) tables the query names, or nothing
            # runs; elsewhere a role that may read everything, else (no CREATEROLE there) the read-only
            # transaction alone.
            named = sql_rules.check(sql_rules.VERIFICATION, plan.verification_sql) if portal else []
            with sql_rules.read_only(conn, select=named, read_all=not portal, require_role=portal):
                rows = sql_rules.run_one(conn, plan.verification_sql).fetchall()
        return _as_count(rows), ""
    except (databases.DatabaseUnavailable, sql_rules.RoleUnavailable) as exc:
        return None, str(exc)
    except psycopg.Error as exc:
        state = f" [{exc.sqlstate}]" if exc.sqlstate else ""
        return None, f"query failed{state}: {databases.scrub(str(exc).strip(), plan.database)}"
    except ValueError as exc:
        return None, str(exc)


@transaction.atomic
def verify_plan(*, plan: SchemaPlan, actor: Any, reason: str) -> VerificationRun:
    """Run the verification query once; after N consecutive zero runs spanning the window the plan is verified.

    A non-zero or failed run restarts the count. Runs before the plan (re-)entered verifying do not count.
    """
    reason = require_reason(reason)
    with advisory_lock(f"schemaplans:verify:{plan.pk}", wait=False) as free:  # held until this transaction ends
        if not free:
            raise ValidationError(f"A verification of plan '{plan.slug}' is already running.")
    plan = SchemaPlan.objects.get(pk=plan.pk)
    if plan.status != Status.VERIFYING:
        raise ValidationError({"status": f"Plan '{plan.slug}' is {plan.status}; only a verifying plan is verified."})
    started = time.monotonic()
    mismatches, error = run_verification_query(plan)
    now = timezone.now()
    previous = plan.verification_runs.filter(ran_at__gte=plan.status_changed_at).order_by("-ran_at", "-id").first()
    if mismatches == 0:
        streak = (previous.zero_streak if previous else 0) + 1
        since = previous.streak_started_at if previous and previous.zero_streak else now
    else:
        streak, since = 0, None
    run = VerificationRun.objects.create(
        plan=plan, ran_at=now, mismatches=mismatches, error=error[:2000],
        duration_ms=int((time.monotonic() - started) * 1000), zero_streak=streak, streak_started_at=since,
    )
    if since is not None and streak >= plan.required_zero_runs and now - since >= plan.verification_window:
        _move_plan(plan, Status.VERIFIED, actor=actor,
                   reason=f"{reason}: {streak} consecutive runs found 0 mismatching rows over {now - since}")
    return run


def verification_summary(plan: SchemaPlan) -> dict[str, Any]:
    """Where the proof stands: the current streak against what the plan requires."""
    last = plan.verification_runs.order_by("-ran_at", "-id").first()
    counting = last is not None and last.ran_at >= plan.status_changed_at and plan.status == Status.VERIFYING
    streak = last.zero_streak if counting and last else 0
    since = last.streak_started_at if counting and last else None
    span = (last.ran_at - since) if counting and last and since else timedelta(0)
    return {
        "zero_streak": streak,
        "required_zero_runs": plan.required_zero_runs,
        "streak_started_at": since,
        "streak_span_seconds": int(span.total_seconds()),
        "verification_window_seconds": int(plan.verification_window.total_seconds()),
        "last_run": None if last is None else {
            "ran_at": last.ran_at, "mismatches": last.mismatches, "error": last.error,
        },
    }


# --- backfills ------------------------------------------------------------------------------------------------

def _enqueue_run(backfill: Backfill) -> None:
    from django_q.tasks import async_task

    pk = backfill.pk
    transaction.on_commit(lambda: async_task("schemaplans.tasks.run_backfill", pk))


@transaction.atomic
def create_backfill(*, name: str, table: str, actor: Any, reason: str, **fields: Any) -> Backfill:
    """Register a backfill (status pending); `fields` are Backfill's editable fields (sql or callable_path …)."""
    plan, service = fields.get("plan"), fields.get("service")
    if plan is not None and service is not None and plan.service_id != service.pk:
        raise ValidationError({"plan": f"Plan '{plan.slug}' belongs to service '{plan.service}', not '{service}'."})
    if plan is not None and service is None:
        fields["service"] = plan.service
    backfill = Backfill(name=name, table=table, **fields)
    backfill.stamp(actor=actor, reason=_clip(reason))
    backfill.full_clean()
    backfill.save()
    BackfillProgress.objects.create(backfill=backfill, batch_size=backfill.initial_batch_size)
    return backfill


def _locked(backfill: Backfill) -> Backfill:
    return Backfill.objects.select_for_update(of=("self",)).select_related("plan").get(pk=backfill.pk)


def _move_backfill(backfill: Backfill, to: str, *, actor: Any, reason: str, only_from: Iterable[str] = (),
                   **changes: Any) -> Backfill:
    states.BACKFILL.apply(backfill, to, actor=actor, reason=_clip(reason), label=f"Backfill #{backfill.pk}",
                          only_from=tuple(only_from), changes=changes)
    return backfill


def second_person_required() -> bool:
    """Whether starting a backfill needs a second person: whenever the portal governs a production environment
    that requires one. A backfill's target is a DSN in the worker's environment, which the portal cannot tell
    apart from production, so it counts as production."""
    return Environment.objects.filter(is_production=True, requires_second_person=True).exists()


@transaction.atomic
def start_backfill(*, backfill: Backfill, actor: Any, reason: str, enqueue: bool = True) -> Backfill:
    """pending → running; a worker picks it up after commit (enqueue=False: the caller runs the engine itself).

    Where a second person is required (`second_person_required`) the first start only asks: pending →
    awaiting_approval, and someone else approves with `approve_backfill_start`. An expanded plan moves to
    backfilling when the backfill runs.
    """
    backfill = _locked(backfill)
    backfill.full_clean()  # the callable may have gone since it was registered; the SQL rules may have changed
    if second_person_required():
        return _move_backfill(backfill, Backfill.Status.AWAITING_APPROVAL, actor=actor, reason=reason,
                              start_requested_by=actor, status_reason="")
    return _run_backfill(backfill, actor=actor, reason=reason, enqueue=enqueue, only_from=Backfill.Status.PENDING)


@transaction.atomic
def approve_backfill_start(*, backfill: Backfill, actor: Any, reason: str, enqueue: bool = True) -> Backfill:
    """awaiting_approval → running, by someone other than who asked to start it (four eyes)."""
    backfill = _locked(backfill)
    states.BACKFILL.check(backfill, Backfill.Status.RUNNING, label=f"Backfill #{backfill.pk}",
                          only_from=(Backfill.Status.AWAITING_APPROVAL,))
    require_second_person(author=backfill.start_requested_by, actor=actor,
                          what=f"the start of backfill #{backfill.pk}")
    backfill.full_clean()
    return _run_backfill(backfill, actor=actor, enqueue=enqueue, only_from=Backfill.Status.AWAITING_APPROVAL,
                         reason=f"start approved by a second person: {require_reason(reason)} (asked by "
                                f"{backfill.start_requested_by})")


def _run_backfill(backfill: Backfill, *, actor: Any, reason: str, enqueue: bool, only_from: str) -> Backfill:
    _move_backfill(backfill, Backfill.Status.RUNNING, actor=actor, reason=reason, only_from=(only_from,),
                   started_at=timezone.now(), status_reason="")
    plan = backfill.plan
    if plan is not None and plan.status == Status.EXPANDED:
        _move_plan(SchemaPlan.objects.select_for_update().get(pk=plan.pk), Status.BACKFILLING, actor=actor,
                   reason=f"backfill #{backfill.pk} started: {reason}")
    BackfillProgress.objects.get_or_create(backfill=backfill, defaults={"batch_size": backfill.initial_batch_size})
    if enqueue:
        _enqueue_run(backfill)
    return backfill


@transaction.atomic
def pause_backfill(*, backfill: Backfill, actor: Any, reason: str, error: str = "") -> Backfill:
    """running → paused; the worker stops after its current batch. `error` is the engine's reason to stop."""
    backfill = _locked(backfill)
    _move_backfill(backfill, Backfill.Status.PAUSED, actor=actor, reason=reason,
                   status_reason=error or require_reason(reason))
    if error:
        BackfillProgress.objects.filter(pk=backfill.pk).update(last_error=error[:4000], updated_at=timezone.now())
    return backfill


@transaction.atomic
def resume_backfill(*, backfill: Backfill, actor: Any, reason: str, enqueue: bool = True) -> Backfill:
    """paused → running from the last checkpoint (enqueue=False: the caller runs the engine itself)."""
    backfill = _locked(backfill)
    backfill.full_clean()
    _move_backfill(backfill, Backfill.Status.RUNNING, actor=actor, reason=reason,
                   only_from=(Backfill.Status.PAUSED,), status_reason="")
    BackfillProgress.objects.filter(pk=backfill.pk).update(last_error="", throttle_reason="")
    if enqueue:
        _enqueue_run(backfill)
    return backfill


@transaction.atomic
def cancel_backfill(*, backfill: Backfill, actor: Any, reason: str) -> Backfill:
    """Stop for good; batches already committed stay (write a new backfill to continue or undo)."""
    backfill = _locked(backfill)
    return _move_backfill(
        backfill, Backfill.Status.CANCELLED, actor=actor, reason=reason, status_reason=require_reason(reason),
        finished_at=timezone.now(),
    )


@transaction.atomic
def complete_backfill(*, backfill: Backfill, actor: Any, reason: str) -> Backfill:
    """running → completed (the engine reached the upper bound); a plan whose backfills are all done is backfilled."""
    backfill = _locked(backfill)
    if backfill.status == Backfill.Status.COMPLETED:
        return backfill
    _move_backfill(backfill, Backfill.Status.COMPLETED, actor=actor, reason=reason,
                   finished_at=timezone.now())
    plan = backfill.plan
    if plan is not None:
        plan = SchemaPlan.objects.select_for_update().get(pk=plan.pk)
        unfinished = plan.backfills.exclude(status__in=[Backfill.Status.COMPLETED, Backfill.Status.CANCELLED])
        if plan.status == Status.BACKFILLING and not unfinished.exists():
            _move_plan(plan, Status.BACKFILLED, actor=actor, reason=f"backfill #{backfill.pk} completed: {reason}")
    return backfill
