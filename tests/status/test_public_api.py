"""The public Statuspage-compatible API and page: shapes as Statuspage's v2, nothing private, cacheable, CORS."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from status import services
from status.models import Component, ComponentGroup

# Field sets of Atlassian Statuspage's public v2 documents (https://<page>.statuspage.io/api/v2/).
PAGE = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT = {"id", "name", "status", "created_at", "updated_at", "position", "description", "showcase", "start_date",
             "group_id", "page_id", "group", "only_show_if_degraded"}
UPDATE = {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at", "affected_components",
          "deliver_notifications", "custom_tweet", "tweet_id"}
INCIDENT = {"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact", "shortlink",
            "started_at", "page_id", "incident_updates", "components"}
MAINTENANCE = INCIDENT | {"scheduled_for", "scheduled_until"}


@pytest.fixture
def world(service, api_component, system_user, operator):
    group = services.save_group(group=ComponentGroup(service=service, name="Backend"), actor=system_user,
                                reason="fixture")
    services.save_component(component=Component(service=service, name="Workers", group=group), actor=system_user,
                            reason="fixture")
    services.save_component(component=Component(service=service, name="Internal admin", public=False),
                            actor=system_user, reason="fixture")
    live = services.open_incident(service=service, name="Checkout errors", body="Investigating.", impact="major",
                                  components=[api_component], component_status="partial_outage", actor=operator,
                                  reason="r", internal_notes="SECRET-NOTE: blame the cache")
    services.open_incident(service=service, name="Private drill", body="drill", public=False, actor=operator,
                           reason="r")
    services.open_incident(service=service, name="Draft from alert", body="draft", publish=False, actor=operator,
                           reason="r")
    old = services.open_incident(service=service, name="Yesterday's blip", body="Looking.", actor=operator,
                                 reason="r")
    services.post_update(incident=old, status="resolved", body="Fixed.", actor=operator, reason="r")
    start = timezone.now() + timedelta(days=1)
    services.schedule_maintenance(service=service, name="Database upgrade", body="PostgreSQL 17.",
                                  scheduled_for=start, scheduled_until=start + timedelta(hours=2),
                                  components=[api_component], actor=operator, reason="planned")
    return {"live": live}


def get(path: str, **headers):
    return Client().get(path, **headers)


def test_summary__has_statuspages_shape_and_only_public_published_rows(world):
    response = get("/api/v2/summary.json")

    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert set(body) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert set(body["page"]) == PAGE and set(body["status"]) == {"indicator", "description"}
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}
    names = {c["name"] for c in body["components"]}
    assert names == {"API", "Workers", "Backend"}  # the private component never appears
    for component in body["components"]:
        assert set(component) - {"components"} == COMPONENT
    group = next(c for c in body["components"] if c["group"])
    worker = next(c for c in body["components"] if c["name"] == "Workers")
    assert group["components"] == [worker["id"]] and worker["group_id"] == group["id"]
    assert [i["name"] for i in body["incidents"]] == ["Checkout errors"]
    incident = body["incidents"][0]
    assert set(incident) == INCIDENT and incident["impact"] == "major" and incident["status"] == "investigating"
    assert set(incident["incident_updates"][0]) == UPDATE
    assert incident["incident_updates"][0]["affected_components"][0]["new_status"] == "partial_outage"
    assert [set(m) for m in body["scheduled_maintenances"]] == [MAINTENANCE]
    assert "SECRET-NOTE" not in response.content.decode() and "Private drill" not in response.content.decode()
    assert "Draft from alert" not in response.content.decode()


@pytest.mark.parametrize(("path", "key", "names"), [
    ("/api/v2/incidents.json", "incidents", ["Yesterday's blip", "Checkout errors"]),
    ("/api/v2/incidents/unresolved.json", "incidents", ["Checkout errors"]),
    ("/api/v2/scheduled-maintenances.json", "scheduled_maintenances", ["Database upgrade"]),
    ("/api/v2/scheduled-maintenances/upcoming.json", "scheduled_maintenances", ["Database upgrade"]),
    ("/api/v2/scheduled-maintenances/active.json", "scheduled_maintenances", []),
])
def test_lists__hold_the_expected_public_items(world, path, key, names):
    body = get(path).json()

    assert set(body) == {"page", key}
    assert sorted(i["name"] for i in body[key]) == sorted(names)


def test_status_and_components__shapes(world):
    status = get("/api/v2/status.json").json()
    components = get("/api/v2/components.json").json()

    assert set(status) == {"page", "status"} and status["status"]["indicator"] == "major"
    assert set(components) == {"page", "components"} and len(components["components"]) == 3


def test_same_document_again__304_with_its_etag_and_cacheable(world):
    first = get("/api/v2/summary.json")

    again = get("/api/v2/summary.json", HTTP_IF_NONE_MATCH=first["ETag"])

    assert "public" in first["Cache-Control"] and "max-age=30" in first["Cache-Control"]
    assert again.status_code == 304


def test_status_page__public_html_without_login_and_without_private_rows(world):
    response = get("/status/")

    html = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "Partial System Outage" in html and "Checkout errors" in html and "Database upgrade" in html
    assert "Yesterday&#x27;s blip" in html  # history
    assert "SECRET-NOTE" not in html and "Internal admin" not in html and "Draft from alert" not in html
    assert get("/status/", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_service_page__404_for_an_unknown_service(world):
    assert get("/status/shop/").status_code == 200
    assert get("/status/nope/").status_code == 404


def test_no_components__all_systems_operational(db):
    assert get("/api/v2/status.json").json()["status"] == {"indicator": "none",
                                                           "description": "All Systems Operational"}
