"""Schema plans move planned → expanded → backfilling → backfilled → verifying → verified → contracted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from governance.reasons import STORED_REASON_MAX
from governance.services import save_audited
from schemaplans import services
from schemaplans.models import SchemaPlan

S = SchemaPlan.Status


def move(plan, to, user, reason="step", **kwargs):
    return services.transition_plan(plan=plan, to=to, actor=user, reason=reason, **kwargs)


def edit(plan, user, **fields):
    """An edit as the admin's change form makes it."""
    for name, value in fields.items():
        setattr(plan, name, value)
    save_audited(instance=plan, actor=user, reason="edit", update_fields=list(fields))


def to_verified(plan, user):
    """Walk the plan to verified with a one-run, zero-window proof (SELECT 0)."""
    edit(plan, user, required_zero_runs=1, verification_window=timedelta(0))
    for to in (S.BACKFILLING, S.BACKFILLED, S.VERIFYING):
        move(plan, to, user)
    services.verify_plan(plan=plan, actor=user, reason="check")
    plan.refresh_from_db()
    assert plan.status == S.VERIFIED


def test_create_plan__records_actor_and_reason(plan, system_user):
    record = plan.history.latest()
    assert (record.history_user, record.history_change_reason) == (system_user, "test fixture")
    assert plan.status == S.PLANNED


def test_transition__records_actor_reason_and_release(plan, release_manager):
    move(plan, S.EXPANDED, release_manager, "expand shipped in 1.4.0", release_version="1.4.0")

    plan.refresh_from_db()
    assert (plan.status, plan.expand_release_version) == (S.EXPANDED, "1.4.0")
    record = plan.history.latest()
    assert (record.history_user, record.history_change_reason) == (release_manager, "expand shipped in 1.4.0")


def test_long_reason__is_kept_whole_in_the_history(plan, release_manager):
    reason = "expand shipped in 1.4.0 after the incident review: " + "the old column stays until verified. " * 20
    move(plan, "expanded", release_manager, reason=reason)
    assert plan.history.latest().history_change_reason == reason.strip()


def test_derived_reason_over_the_limit__is_clipped_not_refused(plan, release_manager, start_backfill):
    move(plan, "expanded", release_manager)
    backfill = services.create_backfill(name="copy", table="orders", plan=plan, sql="UPDATE orders SET x = 1 "
                                        "WHERE id >= %(lo)s AND id < %(hi)s", actor=release_manager, reason="r")
    start_backfill(backfill, actor=release_manager, reason="x" * STORED_REASON_MAX)
    plan.refresh_from_db()
    assert plan.status == "backfilling"
    recorded = plan.history.latest().history_change_reason
    assert len(recorded) == STORED_REASON_MAX and recorded.endswith("x…")
    assert recorded.startswith(f"backfill #{backfill.pk} started: start approved by a second person: xxx")


def test_skipping_a_step__is_refused_with_the_allowed_next(plan, release_manager):
    with pytest.raises(ValidationError) as exc:
        move(plan, S.BACKFILLED, release_manager)
    assert exc.value.message_dict["status"] == [
        "Plan 'orders-status-code' is planned: it cannot move to backfilled (allowed next: expanded)."
    ]


def test_verified__is_reached_only_through_verification_runs(plan, release_manager):
    for to in (S.EXPANDED, S.BACKFILLING, S.BACKFILLED, S.VERIFYING):
        move(plan, to, release_manager)
    with pytest.raises(ValidationError, match="only through its verification runs"):
        move(plan, S.VERIFIED, release_manager)


def test_verifying_without_a_query__is_refused(plan, release_manager):
    edit(plan, release_manager, verification_sql="")
    for to in (S.EXPANDED, S.BACKFILLING, S.BACKFILLED):
        move(plan, to, release_manager)
    with pytest.raises(ValidationError, match="Write the verification query"):
        move(plan, S.VERIFYING, release_manager)


def test_contract_without_expand_release__is_refused(plan, release_manager):
    move(plan, S.EXPANDED, release_manager)
    to_verified(plan, release_manager)
    with pytest.raises(ValidationError, match="Record the version of the expand release"):
        move(plan, S.CONTRACTED, release_manager)


def test_contracted__is_final(plan, release_manager):
    move(plan, S.EXPANDED, release_manager, release_version="2.0.0")
    to_verified(plan, release_manager)
    move(plan, S.CONTRACTED, release_manager, "contract shipped")
    with pytest.raises(ValidationError, match="allowed next: none"):
        move(plan, S.VERIFYING, release_manager)


def test_mismatches_after_backfill__can_go_back_to_backfilling(plan, release_manager):
    for to in (S.EXPANDED, S.BACKFILLING, S.BACKFILLED, S.VERIFYING, S.BACKFILLING):
        move(plan, to, release_manager)
    plan.refresh_from_db()
    assert plan.status == S.BACKFILLING


def test_duplicate_or_invalid_plan_id__is_refused(plan, service, system_user):
    with pytest.raises(ValidationError, match="already exists"):
        services.create_plan(service=service, slug=plan.slug, table="orders", actor=system_user, reason="dup")
    with pytest.raises(ValidationError) as exc:
        services.create_plan(service=service, slug="bad id!", table="orders", actor=system_user, reason="x")
    assert "slug" in exc.value.message_dict


def test_dsn_instead_of_a_variable_name__is_refused(service, system_user):
    with pytest.raises(ValidationError) as exc:
        services.create_plan(service=service, slug="p1", table="orders", database="postgres://u:pw@db/shop",
                             actor=system_user, reason="x")
    assert exc.value.message_dict["database"] == [
        "Store the NAME of an environment variable that holds the DSN, never the DSN itself."
    ]
    plan = services.create_plan(service=service, slug="p2", table="orders", database="SHOP_DATABASE_URL",
                                actor=system_user, reason="x")
    assert plan.database == "SHOP_DATABASE_URL"


def test_missing_reason__is_refused(plan, release_manager):
    with pytest.raises(ValidationError, match="A reason is required"):
        move(plan, S.EXPANDED, release_manager, reason="  ")
