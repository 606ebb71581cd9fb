"""Component statuses: manual wins over every automatic source; maintenance mode and paging alerts feed them."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from governance.models import AuditEvent
from observability import services as slo_services
from observability import slo_math
from status import services
from tests.observability.conftest import steady


def _reload(component):
    component.refresh_from_db()
    return component


def test_manual_status__is_audited_with_actor_and_reason(api_component, operator):
    services.set_component_status(component=api_component, status="major_outage", actor=operator,
                                  reason="database failover under way")

    record = _reload(api_component).history.latest()
    assert (api_component.status, api_component.source) == ("major_outage", "manual")
    assert record.history_user == operator and record.history_change_reason == "database failover under way"
    assert AuditEvent.objects.filter(reason="database failover under way").exists()


def test_manual_status_without_reason__refused_and_unchanged(api_component, operator):
    with pytest.raises(ValidationError, match="reason"):
        services.set_component_status(component=api_component, status="major_outage", actor=operator, reason=" ")

    assert _reload(api_component).status == "operational"


def test_maintenance_mode_in_production__puts_components_under_maintenance_and_back(
        service, production, api_component, web_component, operator, release_manager):
    from flags import services as flag_services

    flag_services.enter_maintenance(service=service, environment=production, actor=operator, reason="db upgrade")
    assert {_reload(api_component).status, _reload(web_component).status} == {"under_maintenance"}
    assert api_component.source == "maintenance"

    # Leaving maintenance widens exposure in production: a second person approves it, and then it applies.
    outcome = flag_services.exit_maintenance(service=service, environment=production, actor=operator,
                                             reason="upgrade done")
    assert _reload(api_component).status == "under_maintenance" and outcome.change_request is not None
    flag_services.approve_change_request(change_request=outcome.change_request, actor=release_manager,
                                         reason="checked the upgrade")
    assert (_reload(api_component).status, api_component.source) == ("operational", "")


def test_maintenance_mode_in_preview__leaves_the_public_components_alone(service, preview, api_component, operator):
    from flags import services as flag_services

    flag_services.enter_maintenance(service=service, environment=preview, actor=operator, reason="preview tests")

    assert _reload(api_component).status == "operational"


def test_manual_status__wins_over_maintenance_mode(service, production, api_component, operator):
    from flags import services as flag_services

    services.set_component_status(component=api_component, status="partial_outage", actor=operator,
                                  reason="EU customers cannot log in")
    flag_services.enter_maintenance(service=service, environment=production, actor=operator, reason="db upgrade")

    assert (_reload(api_component).status, api_component.source) == ("partial_outage", "manual")


def test_released_manual_status__lets_maintenance_mode_apply_again(service, production, api_component, operator):
    from flags import services as flag_services

    services.set_component_status(component=api_component, status="degraded_performance", actor=operator,
                                  reason="slow searches")
    services.release_manual_status(component=api_component, actor=operator, reason="searches are fast again")
    flag_services.enter_maintenance(service=service, environment=production, actor=operator, reason="db upgrade")

    assert _reload(api_component).status == "under_maintenance"


def _fast_burn(end):
    points = steady(end, 120, total=100)
    for m in range(1, 71):
        minute = end - timedelta(minutes=m)
        points[minute] = slo_math.SliPoint(minute=minute, total=100, errors=20)
    return points


def test_paging_burn_rate_alert__proposes_a_status_and_a_person_accepts_it(
        service, production, api_component, write_points, operator):
    from django.utils import timezone
    now = timezone.now().replace(second=30, microsecond=0)
    write_points(service, production, _fast_burn(slo_math.window_end(now)))

    slo_services.run_slo_check(kind="hourly", now=now)

    _reload(api_component)
    assert api_component.status == "operational", "an alert only proposes"
    assert api_component.proposed_status == "partial_outage" and "burning budget" in api_component.proposed_reason
    services.accept_proposal(component=api_component, actor=operator, reason="confirmed: checkout errors")
    assert (_reload(api_component).status, api_component.source, api_component.proposed_status) == \
        ("partial_outage", "slo", "")


def test_paging_alert_on_a_manual_component__proposes_nothing(service, production, api_component, write_points,
                                                              operator):
    from django.utils import timezone
    now = timezone.now().replace(second=30, microsecond=0)
    services.set_component_status(component=api_component, status="degraded_performance", actor=operator,
                                  reason="known slowness")
    write_points(service, production, _fast_burn(slo_math.window_end(now)))

    slo_services.run_slo_check(kind="hourly", now=now)

    assert _reload(api_component).proposed_status == ""
    with pytest.raises(ValidationError, match="no proposed status"):
        services.accept_proposal(component=api_component, actor=operator, reason="try")
