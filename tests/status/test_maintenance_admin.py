"""Scheduling maintenance in the admin: the options, the consequences in words before confirming, the links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from django.test import Client
from django.utils import timezone

from governance import services as core
from governance.models import Environment
from releases.models import FreezeWindow
from status import services
from status.models import Incident

URL = "/admin/status/incident/schedule-maintenance/"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(service, component, **extra):
    start = (timezone.now() + timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)
    data = {"service": service.pk, "name": "Database upgrade", "body": "PostgreSQL 17.",
            "components": [component.pk], "scheduled_for": start.strftime("%Y-%m-%d %H:%M"),
            "scheduled_until": (start + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"), "public": "on",
            "reason": "planned upgrade (CHG-42)"}
    return {**data, **extra}, start


def test_schedule_page__production_is_frozen_by_default(administrator):
    html = _client(administrator).get(URL).content.decode()
    production = Environment.objects.get(slug="production")
    assert f'value="{production.pk}"' in html and "checked" in html.split(f'value="{production.pk}"')[1][:40]
    assert "do not engage maintenance mode" in html


def test_consequences_are_shown_before_anything_is_scheduled(service, api_component, administrator, production):
    data, start = _form(service, api_component, freeze_environments=[production.pk],
                        maintenance_mode_environment=production.pk)
    html = _client(administrator).post(URL, data).content.decode()
    span = f"{start:%Y-%m-%d %H:%M}–{start + timedelta(hours=2):%Y-%m-%d %H:%M} UTC"
    assert f"Promotions of shop to production will be frozen {span}." in html
    assert "Maintenance mode will be engaged in production at start" in html
    assert "Confirm: schedule maintenance" in html
    assert "A person posts each step" in html  # no automatic transitions unless asked
    assert not Incident.objects.exists() and not FreezeWindow.objects.exists()


def test_automatic_transitions__announced_before_confirming_and_kept(service, api_component, operator):
    data, start = _form(service, api_component, auto_transition="on")
    client = _client(operator)
    html = client.post(URL, data).content.decode()
    assert f"It will move to in progress at {start:%Y-%m-%d %H:%M} UTC and to completed at" in html
    previewed = re.search(r'name="previewed" value="([^"]*)"', html)
    assert previewed is not None
    # as a browser sends a hidden field's line breaks: CRLF (HTML form encoding)
    crlf = unescape(previewed[1]).replace("\n", "\r\n")
    assert "\r\n" in crlf
    client.post(URL, {**data, "confirm": "yes", "previewed": crlf})
    assert Incident.objects.get(name="Database upgrade").auto_transition is True


def test_confirming__schedules_with_its_freeze_and_the_change_page_shows_it(service, api_component, administrator,
                                                                             production):
    client = _client(administrator)
    data, start = _form(service, api_component, freeze_environments=[production.pk],
                        maintenance_mode_environment=production.pk)
    preview = client.post(URL, data)
    previewed = preview.context["previewed"]
    response = client.post(URL, {**data, "confirm": "yes", "previewed": previewed})
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get()
    assert (incident.kind, incident.scheduled_for, incident.maintenance_mode_environment) == (
        "maintenance", start.replace(tzinfo=UTC), production)
    [freeze] = FreezeWindow.objects.filter(maintenance_id=incident.pk)
    assert freeze.history.latest().history_user == administrator

    html = client.get(f"/admin/status/incident/{incident.pk}/change/").content.decode()
    assert f"/admin/releases/freezewindow/{freeze.pk}/change/" in html and "Maintenance: Database upgrade" in html
    assert "engaged in production when it moves to in progress" in html
    freeze_html = client.get(f"/admin/releases/freezewindow/{freeze.pk}/change/").content.decode()
    assert f"/admin/status/incident/{incident.pk}/change/" in freeze_html and "CHG-42" in freeze_html


def test_options_changed_on_the_confirmation_page__are_shown_again(service, api_component, operator, production):
    client = _client(operator)
    data, _ = _form(service, api_component, freeze_environments=[production.pk])
    previewed = client.post(URL, data).context["previewed"]
    response = client.post(URL, {**data, "freeze_environments": [], "confirm": "yes", "previewed": previewed})
    assert response.status_code == 200 and "No promotions will be frozen." in response.content.decode()
    assert not Incident.objects.exists()


def test_maintenance_mode_without_the_flag__is_a_form_error(service, api_component, operator, system_user):
    staging = core.save_audited(instance=Environment(slug="staging", name="Staging", order=25),
                                actor=system_user, reason="test: an environment without flags")
    data, _ = _form(service, api_component, maintenance_mode_environment=staging.pk)
    response = _client(operator).post(URL, {**data, "confirm": "yes", "previewed": "x"})
    assert response.status_code == 200
    assert "no maintenance_mode flag in staging" in response.content.decode()
    assert not Incident.objects.exists()


def test_auditor__cannot_schedule(auditor):
    assert _client(auditor).get(URL).status_code == 403


def test_reschedule_action__moves_the_window_and_its_freeze(service, operator):
    start = datetime(2030, 1, 5, 2, 0, tzinfo=UTC)
    window = services.schedule_maintenance(service=service, name="Database upgrade", body="PG 17.",
                                           scheduled_for=start, scheduled_until=start + timedelta(hours=2),
                                           actor=operator, reason="planned")
    response = _client(operator).post("/admin/status/incident/", {
        "action": "reschedule", "_selected_action": [window.pk], "confirm": "1",
        "scheduled_for": "2030-01-12 02:00", "scheduled_until": "2030-01-12 05:00", "reason": "vendor moved it"})
    assert response.status_code == 302
    [freeze] = FreezeWindow.objects.filter(maintenance_id=window.pk)
    assert (freeze.starts_at, freeze.ends_at) == (datetime(2030, 1, 12, 2, 0, tzinfo=UTC),
                                                  datetime(2030, 1, 12, 5, 0, tzinfo=UTC))


def test_completing_in_the_admin__says_what_became_of_maintenance_mode(service, api_component, operator,
                                                                       production):
    start = timezone.now()
    window = services.schedule_maintenance(service=service, name="Failover", body="Failover.", scheduled_for=start,
                                           scheduled_until=start + timedelta(hours=1), components=[api_component],
                                           maintenance_mode_environment=production, actor=operator, reason="planned")
    client = _client(operator)

    def post(status):
        return client.post("/admin/status/incident/", {
            "action": "post_update", "_selected_action": [window.pk], "confirm": "1", "status": status,
            "body": f"{status}.", "reason": "r"}, follow=True)

    started = post("in_progress").content.decode()
    assert "maintenance mode is ON in production" in started and "as this maintenance set it" in started
    completed = post("completed").content.decode()
    # In production switching it off needs a second person: the page says so instead of implying it is off.
    assert "maintenance mode is ON in production" in completed
    assert "waits for a second person" in completed
    page = client.get(f"/admin/status/incident/{window.pk}/change/").content.decode()
    assert "waits for a second person" in page


def test_completing_where_no_second_person_is_needed__says_released(service, api_component, operator, preview):
    start = timezone.now()
    window = services.schedule_maintenance(service=service, name="Failover", body="Failover.", scheduled_for=start,
                                           scheduled_until=start + timedelta(hours=1), components=[api_component],
                                           maintenance_mode_environment=preview, actor=operator, reason="planned")
    services.post_update(incident=window, status="in_progress", body="Go.", actor=operator, reason="go")
    services.post_update(incident=window, status="completed", body="Done.", actor=operator, reason="done")

    page = _client(operator).get(f"/admin/status/incident/{window.pk}/change/").content.decode()

    assert "released at completion" in page and "maintenance mode is off in preview" in page
    assert "changed since" not in page  # its own release is not someone else's change


def test_what_a_maintenance_does_needs_the_grant_a_person_would_need(service, api_component, operator,
                                                                      release_manager, production):
    # An operator may switch maintenance mode but not freeze releases: production is not ticked for them.
    page = _client(operator).get(URL).content.decode()
    assert "You may not freeze promotions" in page
    data, _ = _form(service, api_component, freeze_environments=[production.pk])
    refused = _client(operator).post(URL, data).content.decode()
    assert "You may not freeze promotions" in refused and "will be frozen" not in refused
    # A release manager may freeze but not switch maintenance mode.
    data, _ = _form(service, api_component, maintenance_mode_environment=production.pk)
    refused = _client(release_manager).post(URL, data).content.decode()
    assert "You may not switch maintenance mode" in refused and "will be engaged" not in refused
    assert not Incident.objects.exists() and not FreezeWindow.objects.exists()

