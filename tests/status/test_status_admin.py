"""The admin as the incident commander uses it: open an incident, set a status by hand, see stale incidents."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from status import services
from status.models import Incident


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_add_incident_in_the_admin__opens_it_with_its_first_update(service, api_component, operator):
    response = _client(operator).post("/admin/status/incident/add/", {
        "service": service.pk, "name": "Checkout errors", "impact": "major", "components": [api_component.pk],
        "component_status": "major_outage", "commander": operator.pk, "public": "on",
        "body": "We are investigating failed checkouts.", "next_update_by": "", "internal_notes": "",
        "reason": "paged by api-success"})

    assert response.status_code == 302, response.content[:2000]
    incident = Incident.objects.get()
    api_component.refresh_from_db()
    assert (incident.status, incident.published, api_component.status) == ("investigating", True, "major_outage")
    assert incident.updates.get().body == "We are investigating failed checkouts."
    assert list(incident.components.all()) == [api_component]


def test_set_status_action__manual_status_with_the_reason(api_component, operator):
    response = _client(operator).post("/admin/status/component/", {
        "action": "set_status", "_selected_action": [api_component.pk], "confirm": "1",
        "status": "degraded_performance", "reason": "slow searches reported"})

    api_component.refresh_from_db()
    assert response.status_code == 302
    assert (api_component.status, api_component.source) == ("degraded_performance", "manual")
    assert api_component.history.latest().history_change_reason == "slow searches reported"


def test_overdue_incident__marked_stale_in_the_list(service, operator):
    incident = services.open_incident(service=service, name="Checkout errors", body="Looking.", actor=operator,
                                      reason="r", next_update_by=timezone.now() + timedelta(minutes=5))
    incident.next_update_by = timezone.now() - timedelta(minutes=1)
    incident.stamp(actor=operator, reason="test: time passes")
    incident.save(update_fields=["next_update_by"])

    html = _client(operator).get("/admin/status/incident/").content.decode()

    assert 'alt="True"' in html  # the stale column's icon


def test_auditor__sees_incidents_but_cannot_post_updates(service, auditor, operator):
    incident = services.open_incident(service=service, name="x", body="y", actor=operator, reason="r")
    client = _client(auditor)

    assert client.get("/admin/status/incident/").status_code == 200
    response = client.post("/admin/status/incident/", {
        "action": "post_update", "_selected_action": [incident.pk], "confirm": "1", "status": "resolved",
        "body": "done", "reason": "r"})
    assert response.status_code < 400 and incident.updates.count() == 1  # the action is not offered to them
