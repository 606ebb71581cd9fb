"""A paging alert offers a one-click draft incident, filled from SLI data; nothing is public until published."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from observability import services as slo_services
from observability import slo_math
from observability.models import SloAlert
from status import drafts, services
from status.models import Incident
from tests.status.test_component_status import _fast_burn


def _paging_alert(service, production, write_points) -> SloAlert:
    now = timezone.now().replace(second=30, microsecond=0)
    write_points(service, production, _fast_burn(slo_math.window_end(now)))
    slo_services.run_slo_check(kind="hourly", now=now)
    return SloAlert.objects.filter(action="page", resolved_at__isnull=True, service=service).earliest("opened_at")


def test_one_click_in_the_admin__drafts_an_unpublished_incident_with_the_impact(
        service, production, api_component, write_points, operator):
    alert = _paging_alert(service, production, write_points)
    client = Client()
    client.force_login(operator)

    listing = client.get("/admin/status/incident/")
    response = client.post(f"/admin/status/incident/draft-from-alert/{alert.pk}/")
    again = client.post(f"/admin/status/incident/draft-from-alert/{alert.pk}/")

    assert "Draft incident" in listing.content.decode()
    incident = Incident.objects.get(source_alert_id=alert.pk)
    assert response.status_code == again.status_code == 302 and Incident.objects.count() == 1
    assert not incident.published and incident.impact == "major"
    body = incident.updates.get().body
    assert body.startswith("We are investigating elevated errors (api-")
    assert "20.0% of API requests failed between" in body and "availability budget used" in body
    assert "Checkout" not in Client().get("/api/v2/incidents.json").content.decode()
    assert Client().get("/api/v2/incidents.json").json()["incidents"] == []

    services.publish_incident(incident=incident, actor=operator, reason="text checked")
    assert [i["name"] for i in Client().get("/api/v2/incidents.json").json()["incidents"]] == [incident.name]


def test_draft_from_a_resolved_alert__refused(service, production, api_component, write_points, operator):
    alert = _paging_alert(service, production, write_points)
    alert.resolved_at = timezone.now()
    alert.stamp(actor=operator, reason="test")
    alert.save(update_fields=["resolved_at"])
    client = Client()
    client.force_login(operator)

    response = client.post(f"/admin/status/incident/draft-from-alert/{alert.pk}/", follow=True)

    assert "Only an open paging alert" in response.content.decode() and not Incident.objects.exists()


def test_auditor__cannot_draft(service, production, api_component, write_points, auditor):
    alert = _paging_alert(service, production, write_points)
    client = Client()
    client.force_login(auditor)

    assert client.post(f"/admin/status/incident/draft-from-alert/{alert.pk}/").status_code == 403
    assert not Incident.objects.exists()


def test_state_templates__filled_with_components_start_and_duration(service, api_component, operator):
    incident = services.open_incident(service=service, name="Slow search", body="x", components=[api_component],
                                      actor=operator, reason="r")
    incident.started_at = timezone.now() - timedelta(minutes=75)

    text = drafts.suggested_update(incident, "resolved")

    assert text.startswith("Slow search affecting API is resolved. It lasted 1 h 15 min (from ")
