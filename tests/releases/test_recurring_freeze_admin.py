"""Recurring freezes in the admin: saving materialises at once, next occurrences shown, occurrences read-only."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from releases.models import FreezeWindow, RecurringFreeze

ADD = "admin:releases_recurringfreeze_add"


def _form(production, **fields):
    return {"title": "Weekend freeze", "service": "", "environment": production.pk, "cron": "0 16 * * 5",
            "time_zone": "Europe/Paris", "duration_minutes": 3840, "active": "on", "reason": "no Friday deploys",
            **fields}


def test_add__materialises_at_once_as_the_admin_user(client, release_manager, production):
    client.force_login(release_manager)
    response = client.post(reverse(ADD), _form(production), follow=True)
    assert response.status_code == 200
    rule = RecurringFreeze.objects.get()
    windows = FreezeWindow.objects.filter(recurrence=rule)
    # Two Fridays start within 14 days, and on a weekend the freeze in progress is there too.
    assert windows.count() in (2, 3)
    assert f"Freeze windows of “Weekend freeze”: {windows.count()} created" in response.content.decode()
    for window in windows:
        local = window.starts_at.astimezone(ZoneInfo("Europe/Paris"))
        assert local.strftime("%a %H:%M") == "Fri 16:00"
    record = windows.earliest("starts_at").history.latest()
    assert (record.history_user, record.history_change_reason.split(" [")[0]) == (release_manager,
                                                                                   "no Friday deploys")
    assert rule.history.latest().history_user == release_manager


@pytest.mark.parametrize(("fields", "message"), [
    ({"reason": ""}, "This field is required"),
    ({"cron": "0 16 * *"}, "is not a 5-field cron expression"),
    ({"time_zone": "Paris"}, "&#x27;Paris&#x27; is not an IANA time zone"),
    ({"duration_minutes": 20 * 1440}, "less than or equal to 20160"),
])
def test_add_with_bad_input__shows_the_error_and_saves_nothing(client, release_manager, production, fields, message):
    client.force_login(release_manager)
    response = client.post(reverse(ADD), _form(production, **fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not RecurringFreeze.objects.exists() and not FreezeWindow.objects.exists()


def test_list__shows_the_next_three_occurrences_in_local_time_and_utc(client, release_manager, production,
                                                                      recurring_freeze):
    recurring_freeze("0 16 * * 5", 3840, time_zone="Europe/Paris")
    client.force_login(release_manager)
    page = client.get(reverse("admin:releases_recurringfreeze_changelist")).content.decode()
    assert page.count("→ Mon") == 6  # three occurrences, each in Paris time and in UTC
    assert "16:00 CET" in page or "16:00 CEST" in page
    assert "2 days 16 h" in page


def test_edit_during_an_occurrence__keeps_it_and_says_so(client, release_manager, production, recurring_freeze):
    now = timezone.now()
    start = now - timedelta(hours=1)
    rule, _ = recurring_freeze(f"{start.minute} {start.hour} * * *", 180, title="Nightly batch")
    running = FreezeWindow.objects.get(recurrence=rule, starts_at__lte=now)
    later = now + timedelta(hours=5)
    client.force_login(release_manager)
    response = client.post(reverse("admin:releases_recurringfreeze_change", args=[rule.pk]),
                           _form(production, title="Nightly batch", cron=f"{later.minute} {later.hour} * * *",
                                 time_zone="UTC", duration_minutes=180, reason="batch moved"), follow=True)
    page = response.content.decode()
    assert "the window in progress" in page and "stays as it was" in page
    assert "“Override the freeze”" in page
    running.refresh_from_db()
    assert running.ends_at > now


def test_occurrence__shows_its_rule_and_cannot_be_edited_by_hand(client, release_manager, production,
                                                                 recurring_freeze):
    rule, _ = recurring_freeze("0 16 * * 5", 3840, time_zone="Europe/Paris")
    window = FreezeWindow.objects.filter(recurrence=rule).earliest("starts_at")
    client.force_login(release_manager)
    url = reverse("admin:releases_freezewindow_change", args=[window.pk])
    page = client.get(url).content.decode()
    assert reverse("admin:releases_recurringfreeze_change", args=[rule.pk]) in page
    assert 'name="_save"' not in page  # read-only: edit the rule instead
    assert client.post(url, {"title": "changed", "reason": "x"}).status_code == 403
    listing = client.get(reverse("admin:releases_freezewindow_changelist")).content.decode()
    assert "Weekend freeze" in listing


def test_operators__may_look_but_not_add(client, operator, production):
    client.force_login(operator)
    assert client.get(reverse("admin:releases_recurringfreeze_changelist")).status_code == 200
    assert client.post(reverse(ADD), _form(production)).status_code == 403
    assert not RecurringFreeze.objects.exists()



def test_edit_with_a_huge_duration__re_shows_the_form_with_the_error(client, release_manager, production,
                                                                    recurring_freeze):
    rule, _ = recurring_freeze("0 16 * * 5", 3840, time_zone="Europe/Paris")
    client.force_login(release_manager)
    response = client.post(reverse("admin:releases_recurringfreeze_change", args=[rule.pk]),
                           _form(production, duration_minutes=2**53, reason="typo"))
    assert response.status_code == 200  # was a 500: the re-shown form computed occurrences from the refused value
    page = response.content.decode()
    assert "less than or equal to 20160" in page and "shown once the rule is valid" in page
    rule.refresh_from_db()
    assert rule.duration_minutes == 3840
