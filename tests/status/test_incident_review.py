"""The post-incident review draft: what changed just before it broke, from the real audit trail (a kill switch and
a deployment recorded through their services), then the incident's own timeline; admin and API."""

import pytest

from governance.models import Environment
from status import review, services


@pytest.fixture
def incident_after_changes(service, production, system_user, operator):
    from flags import services as flag_services
    from releases import services as release_services

    flag_services.create_flag(service=service, key="checkout-off", kind="kill_switch", actor=system_user,
                              reason="the checkout kill switch")
    state = flag_services.state_for(service=service, environment=production, key="checkout-off")
    flag_services.engage_kill_switch(state=state, actor=operator, reason="payments provider flapping")
    registered = release_services.register_release(service=service, build_sha="a" * 40, version="2.4.0",
                                                   actor=system_user, reason="CI build 812")
    preview = Environment.objects.get(slug="preview")
    release_services.record_deployment(release=registered.release, environment=preview, status="succeeded",
                                       actor=system_user, reason="CI deploy 812 to preview")
    incident = services.open_incident(service=service, name="Checkout errors", impact="major", body="Looking.",
                                      commander=operator, actor=operator, reason="paged")
    services.post_update(incident=incident, status="resolved", body="Switch released; checkout works.",
                         actor=operator, reason="fixed")
    incident.refresh_from_db()
    return incident


def test_draft__the_changes_before_the_start_come_first_and_the_timeline_is_sorted(incident_after_changes):
    text = review.draft(incident_after_changes)

    before = text.split("## What changed just before it broke")[1].split("## Timeline")[0]
    assert "**flag**" in before and "checkout-off" in before and "payments provider flapping" in before
    assert "**deployment**" in before and "2.4.0" in before and "CI deploy 812 to preview" in before
    assert before.index("deployment") < before.index("payments provider flapping")  # newest first
    assert "Checkout errors" not in before  # the incident itself is not a change

    rows = [line for line in text.split("## Timeline")[1].splitlines() if line.startswith("| ")][2:]
    times = [row.split("|")[1].strip().strip("*") for row in rows if "## " not in row]
    times = [t for t in times if t[:2] == "20"]
    assert times == sorted(times)
    start = next(i for i, row in enumerate(rows) if "**start**" in row)
    assert any("**flag**" in row for row in rows[:start])  # changes before the start are highlighted
    assert any("incident" in row and "resolved" in row for row in rows[start:])
    assert "- Impact: major; status: resolved" in text


def test_admin_and_api__serve_the_draft_to_those_who_may_read_the_audit_trail(
        incident_after_changes, admin_client, make_token, api, service, other_service):
    from django.conf import settings

    page = admin_client.get(f"/{settings.ADMIN_PATH}status/incident/{incident_after_changes.pk}/review.md")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/markdown")
    assert b"What changed just before it broke" in page.content

    url = f"/api/v1/status/incidents/{incident_after_changes.pk}/review.md"
    ok = api(make_token("audit:read")).get(url)
    assert ok.status_code == 200 and "# Post-incident review (draft): Checkout errors" in ok.content.decode()
    assert api(make_token("flags:read")).get(url).status_code == 403
    assert api(make_token("audit:read", services_=[other_service])).get(url).status_code == 403
    assert api(None).get(url).status_code in (401, 403)
    assert api(make_token("audit:read")).get("/api/v1/status/incidents/999999/review.md").status_code == 404


def test_incidents_runbook__shows_every_template_as_the_code_has_it():
    from status.drafts import TEMPLATES
    from tests.conftest import ROOT

    runbook = (ROOT / "docs" / "INCIDENTS.md").read_text()
    assert all(f"| `{state}` | {text} |" in runbook for state, text in TEMPLATES.items())
