"""Gate input "schema-plans": contract migrations in a release's artifacts need their plans verified."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from governance import hooks
from governance.services import save_audited
from schemaplans import services
from schemaplans.models import SchemaPlan

S = SchemaPlan.Status


def release(service, *migrations, artifacts=None):
    """A stand-in for releases.Release: only `artifacts` and `service_id` are read."""
    return SimpleNamespace(service_id=service.pk,
                           artifacts=artifacts if artifacts is not None else {"migrations": list(migrations)})


def gate(rel):
    return hooks.GATE_INPUTS["schema-plans"](release=rel, environment=SimpleNamespace(slug="production"))


def contract(plan="orders-status-code", name="shop.0045_drop_status"):
    return {"name": name, "phase": "contract", "plan": plan}


def verified(plan, user):
    plan.required_zero_runs, plan.verification_window = 1, timedelta(0)
    save_audited(instance=plan, actor=user, reason="fast proof",
                 update_fields=["required_zero_runs", "verification_window"])
    for to in (S.EXPANDED, S.BACKFILLING, S.BACKFILLED, S.VERIFYING):
        services.transition_plan(plan=plan, to=to, actor=user, reason="flow")
    services.verify_plan(plan=plan, actor=user, reason="proof")
    plan.refresh_from_db()
    return plan


def test_gate_input__is_registered():
    assert "schema-plans" in hooks.GATE_INPUTS


@pytest.mark.parametrize("artifacts", [{}, {"migrations": []}, {"bundle": "x"},
                                       {"migrations": [{"name": "shop.0042", "phase": "expand", "plan": None}]}])
def test_no_contract_migrations__allow(service, artifacts):
    result = gate(release(service, artifacts=artifacts))
    assert (result.name, result.verdict, result.code) == ("schema-plans", "allow", "no_contract_migrations")


def test_release_without_artifacts_attribute__allow(service):
    result = gate(SimpleNamespace(service_id=service.pk))
    assert (result.verdict, result.code) == ("allow", "no_contract_migrations")


def test_contract_with_plan_still_verifying__blocks(service, plan):
    result = gate(release(service, {"name": "shop.0042", "phase": "expand", "plan": None}, contract()))
    assert (result.verdict, result.code) == ("block", "schema_plan_not_verified")
    assert result.details == {"plans": {"orders-status-code": "planned"}}
    assert "orders-status-code (planned)" in result.message


def test_contract_with_verified_or_contracted_plan__allows(service, plan, release_manager):
    verified(plan, release_manager)
    result = gate(release(service, contract()))
    assert (result.verdict, result.code) == ("allow", "schema_plans_verified")
    plan.expand_release_version = "1.4.0"
    save_audited(instance=plan, actor=release_manager, reason="record", update_fields=["expand_release_version"])
    services.transition_plan(plan=plan, to=S.CONTRACTED, actor=release_manager, reason="shipped")
    result = gate(release(service, contract()))
    assert (result.verdict, result.details) == ("allow", {"plans": {"orders-status-code": "contracted"}})


def test_every_named_plan__must_be_verified(service, plan, release_manager, system_user):
    verified(plan, release_manager)
    services.create_plan(service=service, slug="second", table="t", actor=system_user, reason="x")
    result = gate(release(service, contract(), contract("second", "shop.0046")))
    assert (result.verdict, result.code) == ("block", "schema_plan_not_verified")
    assert result.details["plans"] == {"orders-status-code": "verified", "second": "planned"}


def test_contract_without_plan__blocks(service):
    result = gate(release(service, {"name": "shop.0045", "phase": "contract", "plan": None}))
    assert (result.verdict, result.code, result.details) == (
        "block", "contract_migration_without_plan", {"migrations": ["shop.0045"]})


def test_unknown_plan__blocks(service):
    result = gate(release(service, contract("nope")))
    assert (result.verdict, result.code) == ("block", "unknown_schema_plan")


def test_plan_of_another_service__blocks(other_service, plan, release_manager):
    verified(plan, release_manager)
    result = gate(release(other_service, contract()))
    assert (result.verdict, result.code) == ("block", "schema_plan_of_another_service")


@pytest.mark.parametrize("artifacts", [{"migrations": "shop.0045"}, {"migrations": ["shop.0045"]}, ["x"]])
def test_malformed_artifact__blocks(service, artifacts):
    result = gate(release(service, artifacts=artifacts))
    assert (result.verdict, result.code) == ("block", "invalid_migrations_artifact")


def test_lint_json__is_a_valid_artifact(service, plan, release_manager, db, lintapp):
    """What CI puts in the release: the "migrations" list `manage.py lint_migrations --format json` prints."""
    import json
    from io import StringIO

    from django.core.management import call_command

    lintapp("good")
    out = StringIO()
    call_command("lint_migrations", "lintapp", "--format", "json", stdout=out)
    artifact = {"migrations": json.loads(out.getvalue())["migrations"]}
    result = gate(release(service, artifacts=artifact))
    assert (result.code, result.message) == ("unknown_schema_plan", "No schema plan named items-legacy.")
