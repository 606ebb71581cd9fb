"""Published third-party clients of Statuspage's public v2 API read the portal over real HTTP (live_server).

- npm `statuspage.io` 3.3.8 (the typed TypeScript client, installed in tests/js from its lockfile and run
  with node): summary, status, components, incidents, incidents/unresolved, scheduled-maintenances/upcoming.
  Its own interfaces (dist/interfaces/Result.d.ts) and enums (IncidentStatus, IncidentImpact,
  MaintenanceStatus) are what the portal's answers are held to.
- PyPI `DiscordStatus` 0.0.2 (requests; pointed at the portal through its `base_target`): all eight endpoints,
  including scheduled-maintenances.json and scheduled-maintenances/active.json, which statuspage.io 3.3.8
  cannot reach (both its `getAll` and `getActive` ask upcoming.json).

The page holds public components (one in a group), an active incident, a resolved one, an upcoming, an active
and a completed maintenance, and a private component and a private incident that no client may see.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from status import services
from status.models import Component, ComponentGroup

CLIENT_DIR = Path(__file__).resolve().parents[1] / "js"  # npm ci from its package-lock.json (`make test`)
RESULT_TYPES = CLIENT_DIR / "node_modules" / "statuspage.io" / "dist" / "interfaces" / "Result.d.ts"
NODE = shutil.which("node")
PUBLIC_COMPONENTS = {"API", "Workers", "Backend"}
HIDDEN = ("Internal admin", "Private drill", "SECRET-NOTE")

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def page_data(service, api_component, system_user, operator) -> dict[str, Any]:
    """Every state a Statuspage client distinguishes, plus private rows that must stay out."""
    group = services.save_group(group=ComponentGroup(service=service, name="Backend"), actor=system_user,
                                reason="fixture")
    workers = services.save_component(component=Component(service=service, name="Workers", group=group),
                                      actor=system_user, reason="fixture")
    services.save_component(component=Component(service=service, name="Internal admin", public=False),
                            actor=system_user, reason="fixture")
    live = services.open_incident(service=service, name="Checkout errors", body="Investigating.", impact="major",
                                  components=[api_component], component_status="partial_outage", actor=operator,
                                  reason="r", internal_notes="SECRET-NOTE: blame the cache")
    services.open_incident(service=service, name="Private drill", body="drill", public=False, actor=operator,
                           reason="r")
    blip = services.open_incident(service=service, name="Yesterday's blip", body="Looking.", actor=operator,
                                  reason="r")
    services.post_update(incident=blip, status="resolved", body="Fixed.", actor=operator, reason="r")
    now = timezone.now()
    _maintenance("Database upgrade", now + timedelta(days=1), [api_component], [], operator)
    _maintenance("Queue failover", now - timedelta(minutes=10), [workers], ["in_progress"], operator)
    _maintenance("Old migration", now - timedelta(days=2), [api_component], ["in_progress", "completed"], operator)
    return {"live": live}


def _maintenance(name: str, start: Any, components: list[Component], steps: list[str], actor: Any) -> None:
    window = services.schedule_maintenance(service=components[0].service, name=name, body=f"{name}.",
                                           scheduled_for=start, scheduled_until=start + timedelta(hours=2),
                                           components=components, actor=actor, reason="planned")
    for step in steps:
        services.post_update(incident=window, status=step, body=f"{name}: {step}.", actor=actor, reason="r")


def _statuspage_io(base_url: str) -> dict[str, Any]:
    """What the npm client's read methods return (and the path each asked), plus its own enums."""
    # `make test` installs these clients with npm (make js), so node is there whenever the suite runs through it
    assert NODE is not None, "node is not installed (Debian: apt-get install nodejs npm; then make js)"
    assert RESULT_TYPES.exists(), "the npm test clients are not installed: run `make js` (make test does)"
    done = subprocess.run([NODE, "--conditions=browser", "read_all.js", base_url], cwd=CLIENT_DIR,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _interface_fields(name: str, *, nested: bool = False) -> set[str]:
    """The fields the client declares for one of its result interfaces (its TypeScript typings); `nested`: those
    of the object inside it (Page's `page`, Status's `status`)."""
    match = re.search(rf"export interface {name}\b[^{{]*\{{(.*?)\n\}}", RESULT_TYPES.read_text(), re.S)
    assert match, name
    fields = set(re.findall(rf"^ {{{8 if nested else 4}}}(\w+)\??:", match[1], re.M))
    assert fields, name
    return fields


def _names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


def test_statuspage_io__reads_summary_status_and_components_as_its_typings_declare(live_server, page_data):
    out = _statuspage_io(live_server.url)
    results, enums = out["results"], out["enums"]

    summary = results["getSummary"]["data"]
    assert summary["page"]["id"] == "portal" and set(summary["page"]) >= _interface_fields("Page", nested=True)
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert set(summary["status"]) == _interface_fields("Status", nested=True)
    assert set(_names(summary["components"])) == PUBLIC_COMPONENTS
    assert _names(summary["incidents"]) == ["Checkout errors"]
    assert _names(summary["scheduled_maintenances"]) == ["Queue failover", "Database upgrade"]
    assert [m["status"] for m in summary["scheduled_maintenances"]] == ["in_progress", "scheduled"]

    assert results["getStatus"]["data"]["status"] == summary["status"]
    assert results["getStatus"]["data"]["page"] == summary["page"]
    components = {c["name"]: c for c in results["getComponents"]["data"]["components"]}
    assert set(components) == PUBLIC_COMPONENTS
    assert components["API"]["status"] == "partial_outage"
    assert components["Workers"]["status"] == "under_maintenance"  # the active window's component
    assert components["Workers"]["group_id"] == components["Backend"]["id"] and components["Backend"]["group"]
    for component in components.values():
        assert set(component) >= _interface_fields("Component"), component["name"]
    assert not any(hidden in json.dumps(results) for hidden in HIDDEN)
    assert {i["impact"] for i in summary["incidents"]} <= set(enums["IncidentImpact"])
    assert {m["status"] for m in summary["scheduled_maintenances"]} <= set(enums["MaintenanceStatus"])


def test_statuspage_io__incidents_and_maintenances_use_its_enums(live_server, page_data):
    out = _statuspage_io(live_server.url)
    results, enums = out["results"], out["enums"]

    every = results["incidents.getAll"]["data"]["incidents"]
    assert results["incidents.getAll"]["path"] == "/api/v2/incidents.json"
    assert _names(every) == ["Yesterday's blip", "Checkout errors"]
    unresolved = results["incidents.getUnresolved"]
    assert unresolved["path"] == "/api/v2/incidents/unresolved.json"
    assert _names(unresolved["data"]["incidents"]) == ["Checkout errors"]
    for incident in every:
        assert set(incident) >= _interface_fields("Incident"), incident["name"]
        assert incident["status"] in enums["IncidentStatus"] and incident["impact"] in enums["IncidentImpact"]
        for update in incident["incident_updates"]:
            assert set(update) >= _interface_fields("IncidentUpdate")
            assert update["status"] in enums["IncidentStatus"]
    assert {i["name"]: i["status"] for i in every} == {"Yesterday's blip": "resolved",
                                                       "Checkout errors": "investigating"}

    upcoming = results["scheduledMaintenances.getUpcoming"]
    assert upcoming["path"] == "/api/v2/scheduled-maintenances/upcoming.json"
    (window,) = upcoming["data"]["scheduled_maintenances"]
    assert window["name"] == "Database upgrade" and window["status"] in enums["MaintenanceStatus"]
    assert set(window) >= _interface_fields("Incident") - {"status"} | {"scheduled_for", "scheduled_until"}
    # Statuspage's maintenances carry impact "maintenance"; the client's IncidentImpact enum omits it
    assert window["impact"] == "maintenance"
    # statuspage.io 3.3.8's getAll and getActive both ask upcoming.json (a bug of the client): DiscordStatus
    # below reads scheduled-maintenances.json and scheduled-maintenances/active.json
    assert {results[f"scheduledMaintenances.{m}"]["path"] for m in ("getAll", "getActive")} == {upcoming["path"]}
    assert not any(hidden in json.dumps(results) for hidden in HIDDEN)


def test_statuspage_io__reads_one_services_page_given_its_url(live_server, page_data, service):
    results = _statuspage_io(f"{live_server.url}/status/{service.slug}")["results"]

    assert results["getSummary"]["path"] == "/api/v2/summary.json"  # appended to the page URL
    assert results["getSummary"]["data"]["page"]["id"] == f"portal-{service.slug}"
    assert set(_names(results["getComponents"]["data"]["components"])) == PUBLIC_COMPONENTS


def _discordstatus(base_url: str) -> Any:
    from discordstatus import DiscordStatus

    client = DiscordStatus()
    client.base_target = f"{base_url}/api/v2"  # the client's own setting of the page's API root
    return client


def test_discordstatus__reads_all_eight_endpoints(live_server, page_data):
    client = _discordstatus(live_server.url)

    summary, status = client.summary, client.status
    assert summary["status"] == status["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert set(_names(client.components["components"])) == PUBLIC_COMPONENTS
    assert _names(client.all_incidents["incidents"]) == ["Yesterday's blip", "Checkout errors"]
    assert _names(client.unresolved_incidents["incidents"]) == ["Checkout errors"]
    every = client.all_maintenances["scheduled_maintenances"]
    assert {m["name"]: m["status"] for m in every} == {"Database upgrade": "scheduled",
                                                       "Queue failover": "in_progress", "Old migration": "completed"}
    assert _names(every) == ["Database upgrade", "Queue failover", "Old migration"]  # newest window first
    (upcoming,) = client.upcoming_maintenances["scheduled_maintenances"]
    assert upcoming["name"] == "Database upgrade" and upcoming["scheduled_for"] > upcoming["created_at"]
    (active,) = client.active_maintenances["scheduled_maintenances"]
    assert active["name"] == "Queue failover" and _names(active["components"]) == ["Workers"]
    old = next(m for m in every if m["name"] == "Old migration")
    assert old["resolved_at"] is not None and [u["status"] for u in old["incident_updates"]] == [
        "completed", "in_progress", "scheduled"]  # newest update first, as Statuspage lists them
    answers = json.dumps([summary, client.all_incidents, every])
    assert not any(hidden in answers for hidden in HIDDEN)


def test_discordstatus__reads_one_services_page_given_its_url(live_server, page_data, service, other_service):
    client = _discordstatus(f"{live_server.url}/status/{other_service.slug}")

    assert client.summary["page"]["id"] == f"portal-{other_service.slug}"
    assert client.summary["components"] == client.all_incidents["incidents"] == []
    assert client.status["status"]["indicator"] == "none"
