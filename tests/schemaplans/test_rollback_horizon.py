"""Rollback horizon: once a plan is contracted, releases older than its expand release cannot be rolled back to."""

from __future__ import annotations

from schemaplans import queries, services


def test_no_contracted_plans__no_horizon(service, plan):
    assert queries.rollback_horizon(service) == {}
    assert queries.oldest_rollback_target(service) is None


def test_contracted_plans__give_their_expand_release(service, other_service, plan, prove, release_manager,
                                                     system_user):
    prove(plan, release_manager, release_version="1.4.0", contract=True)
    later = services.create_plan(service=service, slug="orders-notes", table="orders", verification_sql="SELECT 0",
                                 actor=system_user, reason="x")
    prove(later, release_manager, release_version="1.10.0", contract=True)
    verified_only = services.create_plan(service=service, slug="still-verified", table="orders",
                                         verification_sql="SELECT 0", actor=system_user, reason="x")
    prove(verified_only, release_manager, release_version="2.0.0")
    elsewhere = services.create_plan(service=other_service, slug="billing-plan", table="invoices",
                                     verification_sql="SELECT 0", actor=system_user, reason="x")
    prove(elsewhere, release_manager, release_version="9.0.0", contract=True)

    assert queries.rollback_horizon(service) == {"orders-notes": "1.10.0", "orders-status-code": "1.4.0"}
    assert queries.oldest_rollback_target(service) == "1.10.0"  # SemVer order, not string order
