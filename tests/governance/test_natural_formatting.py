"""Numbers and times read naturally: 99.9% (not 0.999), 3 days (not 259200 s), times with their zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse

from governance import formatting, services


@pytest.mark.parametrize(("ratio", "shown"), [
    (0.999, "99.9%"), (Decimal("0.9995"), "99.95%"), (0.99, "99%"), (1, "100%"), (0, "0%"), (None, "no data")])
def test_ratio__reads_as_a_percentage(ratio, shown):
    assert formatting.percent(ratio) == shown


@pytest.mark.parametrize(("seconds", "shown"), [
    (259_200, "3 days"), (86_400, "1 day"), (5_400, "1 h 30 min"), (90, "1 min 30 s"), (12.5, "12.5 s"),
    (timedelta(hours=26), "1 day 2 h"), (None, "no data")])
def test_seconds__read_in_the_units_that_matter(seconds, shown):
    assert formatting.duration(seconds) == shown


@override_settings(TIME_ZONE="Europe/Amsterdam")
def test_moment__shows_its_zone():
    moment = datetime(2026, 12, 5, 20, 38, tzinfo=UTC)
    assert formatting.when(moment) == "2026-12-05 21:38 CET"
    rendered = Template("{% load portal %}{{ at|when }} · {{ r|percent }} · {{ s|duration }}").render(
        Context({"at": moment, "r": 0.999, "s": 259_200}))
    assert rendered == "2026-12-05 21:38 CET · 99.9% · 3 days"


@pytest.mark.django_db
def test_admin_lists__show_dates_with_their_zone(admin_client, service, operator):
    service.owners = "x"
    services.save_audited(instance=service, actor=operator, reason="zone check", update_fields=["owners"])
    services_page = admin_client.get(reverse("admin:governance_service_changelist")).content.decode()
    timeline = admin_client.get(reverse("admin:governance_auditevent_changelist")).content.decode()
    for page in (services_page, timeline):  # a computed column (timeline) and Django's own date cell (services)
        assert f"{service.created_at:%Y-%m-%d} " in page and " UTC" in page and "a.m." not in page
