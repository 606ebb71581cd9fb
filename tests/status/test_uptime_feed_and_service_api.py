"""The public page's 90-day uptime bars (from SLI availability data), the Atom feed (parsed by feedparser), one
service's own Statuspage-compatible API, and the CORS answers a widget on another site needs."""

from datetime import UTC, datetime, time, timedelta

import feedparser
import pytest
from django.utils import timezone

from observability import slo_math
from status import services, uptime


def _day_start(days_ago: int) -> datetime:
    today = timezone.now().astimezone(UTC).date()
    return datetime.combine(today - timedelta(days=days_ago), time(), tzinfo=UTC)


def _minutes(start: datetime, count: int, *, total: int = 100, errors: int = 0) -> list[slo_math.SliPoint]:
    return [slo_math.SliPoint(minute=start + timedelta(minutes=m), total=total, errors=errors) for m in range(count)]


@pytest.fixture
def measured(service, production, write_points, api_component, system_user):
    """Day 6 ago clean, day 5 ago a bad hour inside a declared maintenance window, day 3 ago an outage hour,
    day 2 ago nothing measured, today clean so far."""
    points = _minutes(_day_start(6), 600) + _minutes(_day_start(5), 600) \
        + _minutes(_day_start(5) + timedelta(hours=12), 60, errors=100) \
        + _minutes(_day_start(3), 600) + _minutes(_day_start(3) + timedelta(hours=12), 60, errors=50)
    write_points(service, production, points)
    since_midnight = int((timezone.now() - _day_start(0)).total_seconds() // 60)
    write_points(service, production, _minutes(_day_start(0), max(1, min(30, since_midnight))))
    services.schedule_maintenance(service=service, name="Database upgrade", body="Planned.",
                                  scheduled_for=_day_start(5) + timedelta(hours=11, minutes=30),
                                  scheduled_until=_day_start(5) + timedelta(hours=13), components=[api_component],
                                  actor=system_user, reason="declared beforehand")
    return api_component


def test_bars__measured_days_by_availability_maintenance_as_such_and_no_data_never_green(measured, client):
    bars = uptime.for_components([measured])[measured.pk]
    by_age = {(timezone.now().astimezone(UTC).date() - d.day).days: d for d in bars.days}

    assert len(bars.days) == 90
    assert by_age[6].state == "operational"
    assert by_age[5].state == "maintenance" and by_age[5].total == 60_000  # the window's failing hour is left out
    assert by_age[3].state == "major_outage" and by_age[3].total == 66_000  # 3000 of 66000 failed: 95.5%
    assert by_age[2].state == "nodata" and by_age[40].state == "nodata"
    assert by_age[0].state == "operational"
    today_total = by_age[0].total
    assert bars.uptime is not None and float(bars.uptime) == pytest.approx(1 - 3000 / ((600 + 600 + 660) * 100 + today_total))

    html = client.get("/status/").content.decode()
    assert html.count('class="d-nodata"') == 90 - 4  # no-data days are grey, never green
    assert f'title="{by_age[2].day.isoformat()}: No data"' in html
    assert f'title="{by_age[5].day.isoformat()}: 100.00% available (maintenance window)"' in html
    assert f'title="{by_age[3].day.isoformat()}: 95.45% available"' in html and 'class="d-major_outage"' in html
    assert "uptime per day over the last 90 days" in html  # the bars' accessible name

    data = client.get("/status/shop/uptime.json").json()
    [component] = data["components"]
    assert component["name"] == "API" and [d["state"] for d in component["days"]][-7:] == \
        ["operational", "maintenance", "nodata", "major_outage", "nodata", "nodata", "operational"]


def test_bars__a_service_never_measured_is_no_data_every_day(api_component):
    bars = uptime.for_components([api_component])[api_component.pk]
    assert {d.state for d in bars.days} == {"nodata"} and bars.uptime_text == "no data"


def test_atom_feed__parses_with_feedparser_and_shows_only_public_published_incidents(
        service, api_component, operator, client):
    services.open_incident(service=service, name="Checkout errors", body="Investigating <failed> checkouts.",
                           components=[api_component], actor=operator, reason="r")
    services.open_incident(service=service, name="Secret thing", body="internal", public=False, actor=operator,
                           reason="r")
    services.open_incident(service=service, name="Draft from alert", body="draft", publish=False, actor=operator,
                           reason="r")

    response = client.get("/status/history.atom")
    assert response["Content-Type"].startswith("application/atom+xml") and response["ETag"]
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10" and feed.feed.title.endswith("incident history")
    assert [e.title for e in feed.entries] == ["Checkout errors"]
    assert "Investigating &lt;failed&gt; checkouts." in feed.entries[0].summary
    assert client.get("/status/history.atom", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304

    per_service = feedparser.parse(client.get("/status/shop/history.atom").content)
    assert not per_service.bozo and [e.title for e in per_service.entries] == ["Checkout errors"]
    assert client.get("/status/nope/history.atom").status_code == 404


def test_service_api__only_that_service_and_statuspage_cors(service, api_component, system_user, client):
    from governance import services as core
    from status.models import Component

    other = core.create_service(slug="billing", name="Billing", actor=system_user, reason="second service")
    services.save_component(component=Component(service=other, name="Invoices"), actor=system_user, reason="r")

    summary = client.get("/status/shop/api/v2/summary.json")
    assert summary.status_code == 200 and summary["Access-Control-Allow-Origin"] == "*"
    body = summary.json()
    assert body["page"]["id"] == "portal-shop" and [c["name"] for c in body["components"]] == ["API"]
    for path in ("status.json", "components.json", "incidents.json", "incidents/unresolved.json",
                 "scheduled-maintenances.json", "scheduled-maintenances/upcoming.json",
                 "scheduled-maintenances/active.json"):
        assert client.get(f"/status/shop/api/v2/{path}").status_code == 200, path
    assert sorted(c["name"] for c in client.get("/api/v2/components.json").json()["components"]) == \
        ["API", "Invoices"]
    missing = client.get("/status/nope/api/v2/summary.json")
    assert missing.status_code == 404 and missing["Access-Control-Allow-Origin"] == "*"

    preflight = client.options("/api/v2/summary.json", HTTP_ORIGIN="https://widgets.example",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight["Access-Control-Allow-Methods"]


def test_roll_up__days_past_the_sli_retention_keep_their_bars(measured, settings):
    from observability.models import SliPoint
    from status.models import UptimeDay

    assert uptime.roll_up(days=7) == 3  # the three measured, finished days (today is not finished)
    assert uptime.roll_up(days=7) == 3 and UptimeDay.objects.count() == 3  # idempotent
    SliPoint.objects.filter(minute__lt=_day_start(0)).delete()  # the nightly purge took the points
    settings.SLI_RETENTION_DAYS = 2  # so every day before yesterday is read from the roll-up

    bars = uptime.for_components([measured])[measured.pk]
    states = [d.state for d in bars.days][-7:]
    assert states == ["operational", "maintenance", "nodata", "major_outage", "nodata", "nodata", "operational"]
