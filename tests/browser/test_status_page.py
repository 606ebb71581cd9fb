"""The public status page in a real browser (Debian's chromium): readable without login or JavaScript, fits a
phone, and the subscribe form works. Saves docs/screenshots/status-page*.png (docs/STATUS.md shows them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import test_journeys as journeys
from tests.browser.test_journeys import CHROMIUM, _seed, _shot

browser_context_factory = journeys.browser_context_factory  # the journeys' browser fixture (shared, not copied)

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_customer__reads_the_status_page_on_a_phone_and_subscribes(live_server, browser_context_factory):
    from governance import demo
    from governance.services import system_user
    from status import services
    from status.models import Component

    service = _seed()
    demo.status_page(service, system_user())
    api = Component.objects.get(service=service, name="API")
    services.open_incident(service=service, name="Checkout errors", impact="major", components=[api],
                           component_status="partial_outage", actor=system_user(), reason="browser test",
                           body="We are investigating failed checkouts. 1.3% of API requests failed since 10:02 UTC.")
    context = browser_context_factory()
    page = context.new_page()
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(f"{live_server.url}/status/")
    assert page.inner_text("p.banner") == "Partial System Outage"  # the open incident's major impact
    text = page.inner_text("main")
    assert "Checkout errors" in text and "Database upgrade" in text and "Slow checkout" in text
    assert "Internal tools" not in text
    # 90-day uptime bars per public component, readable without JavaScript: a day per bar with its words
    bars = page.locator("figure.uptime")
    assert bars.count() == 3
    api_days = page.locator("figure.uptime").first.locator("li")
    assert api_days.count() == 90
    assert api_days.nth(0).get_attribute("class") == "d-nodata"  # 90 days ago: nothing measured, grey
    assert "d-maintenance" in [api_days.nth(i).get_attribute("class") for i in range(60, 80)]
    assert page.locator("figure.uptime .d-major_outage").count() >= 1
    assert "% uptime" in page.locator("figure.uptime figcaption").first.inner_text()
    _shot(page, "status-page")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, "status-page-phone")

    page.fill("#email", "reader@example.test")
    page.click("button[type=submit]")
    assert "Check your inbox" in page.inner_text("h1")
