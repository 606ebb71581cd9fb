"""A chaos drill in production shows on the status page: the service's operational components are degraded with
source "drill" while faults are in force, and back to operational when the drill ends (removed or run out).
A drill never hides a worse status or a person's decision, and drills outside production change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chaos import services
from chaos.models import Fault
from status import services as status_services
from status.models import Component

pytestmark = pytest.mark.django_db


@pytest.fixture
def components(service, system_user):
    def make(name):
        return status_services.save_component(component=Component(service=service, name=name), actor=system_user,
                                              reason="fixture")

    return {name: make(name) for name in ("API", "Checkout", "Search")}


@pytest.fixture
def approved_run(make_experiment, production, maintainer, make_user):
    services.set_policy(environment=production, allow_chaos=True, actor=maintainer, reason="game day")
    run = services.request_run(experiment=make_experiment(), environment=production, actor=maintainer,
                               reason="game day")
    services.approve_run(run=run, actor=make_user("second", "Maintenance admin"), reason="approved")
    run.refresh_from_db()
    return run


def _statuses(components):
    return {name: (c.status, c.source) for name, c in
            ((name, Component.objects.get(pk=c.pk)) for name, c in components.items())}


def _fault(service, environment, maintainer, run=None, ttl=120):
    return services.create_fault(service=service, environment=environment, kind="http_errors",
                                 scope={"share": 0.05}, ttl_seconds=ttl, actor=maintainer, reason="5% errors",
                                 run=run)


def test_production_drill__degrades_then_restores_only_what_it_set(service, production, maintainer, components,
                                                                   approved_run, operator, client):
    status_services.set_component_status(component=components["Checkout"], status="partial_outage",
                                         actor=operator, reason="payments provider down")

    fault = _fault(service, production, maintainer, run=approved_run)

    during = _statuses(components)
    assert during["API"] == during["Search"] == ("degraded_performance", "drill")
    assert during["Checkout"] == ("partial_outage", "manual")  # a person's (worse) status stands
    public = {c["name"]: c["status"] for c in client.get("/api/v2/components.json").json()["components"]}
    assert public["API"] == "degraded_performance"

    services.remove_fault(fault=fault, actor=maintainer, reason="drill over")

    after = _statuses(components)
    assert after["API"] == after["Search"] == ("operational", "")
    assert after["Checkout"] == ("partial_outage", "manual")


def test_faults_that_ran_out__restored_by_the_watchdog(service, production, maintainer, components, approved_run,
                                                       system_user):
    fault = _fault(service, production, maintainer, run=approved_run, ttl=60)
    assert _statuses(components)["API"] == ("degraded_performance", "drill")

    services.watchdog(actor=system_user, now=fault.expires_at + timedelta(seconds=30))

    assert _statuses(components)["API"] == ("operational", "")
    assert Fault.objects.get(pk=fault.pk).removed_at is None  # it ran out; nobody removed it


def test_second_fault_keeps_the_drill_shown_until_the_last_one_goes(service, production, maintainer, components,
                                                                    approved_run):
    first = _fault(service, production, maintainer, run=approved_run)
    _fault(service, production, maintainer, run=approved_run)
    services.remove_fault(fault=first, actor=maintainer, reason="one down")
    assert _statuses(components)["API"] == ("degraded_performance", "drill")
    services.remove_faults(faults=Fault.objects.filter(service=service), actor=maintainer, reason="all down")
    assert _statuses(components)["API"] == ("operational", "")


def test_drill_outside_production__leaves_the_status_page_alone(service, preview, maintainer, components):
    _fault(service, preview, maintainer)
    assert set(_statuses(components).values()) == {("operational", "")}


def test_watchdog_long_after__still_restores_a_drill_that_ran_out(service, production, maintainer, components,
                                                                  approved_run, system_user):
    fault = _fault(service, production, maintainer, run=approved_run, ttl=60)
    services.watchdog(actor=system_user, now=fault.expires_at + timedelta(hours=6))  # the worker was down for hours
    assert _statuses(components)["API"] == ("operational", "")
