"""A real third-party client of the Statuspage v2 API against a live portal: Atlassian's own status widget
(`@statuspage/status-widget`, installed in tests/js from its lockfile) embedded in a page served from ANOTHER origin, in Debian's
chromium. The browser enforces CORS, so the widget only renders when /api/v2/summary.json answers as Statuspage's
does; it reads the page's indicator and description unchanged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser import test_journeys as journeys
from tests.browser.test_journeys import CHROMIUM, _seed, _shot

browser_context_factory = journeys.browser_context_factory  # the journeys' browser fixture (shared, not copied)
# npm ci from tests/js/package-lock.json (`make test` runs it)
WIDGET = Path(__file__).resolve().parents[1] / "js" / "node_modules" / "@statuspage" / "status-widget" / "dist" / "index.js"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def other_site(live_server) -> Iterator[str]:
    """Another origin (its own port on 127.0.0.1) with a page embedding the widget pointed at the portal."""
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme shop</title></head><body>'
            f'<h1>Acme shop</h1><statuspage-widget id="portal" src="{live_server.url}"></statuspage-widget>'
            f'<script src="/widget.js"></script></body></html>').encode()
    script = WIDGET.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body, kind = (script, "text/javascript") if self.path == "/widget.js" else (page, "text/html")
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_atlassian_status_widget__on_another_site_shows_the_portal_status(live_server, other_site,
                                                                          browser_context_factory):
    from governance import demo
    from governance.services import system_user
    from status import services
    from status.models import Component

    service = _seed()
    demo.status_page(service, system_user())
    api = Component.objects.get(service=service, name="API")
    services.open_incident(service=service, name="Checkout errors", impact="major", components=[api],
                           component_status="partial_outage", actor=system_user(), reason="widget test",
                           body="We are investigating failed checkouts.")
    context = browser_context_factory()
    page = context.new_page()
    summaries: list[tuple[str, str | None]] = []
    page.on("response", lambda r: summaries.append((r.url, r.headers.get("access-control-allow-origin")))
            if r.url.endswith("summary.json") else None)
    page.goto(other_site)

    widget = page.locator("#portal .status-text")  # Playwright's locators pierce the widget's shadow root
    widget.wait_for()
    assert widget.inner_text() == "Partial System Outage"
    assert "major" in page.locator("#portal .status-indicator").get_attribute("class")
    assert all(origin == "*" for _, origin in summaries)
    # The widget resolves "/api/v2/summary.json" against its src's origin (a per-service path is dropped).
    assert summaries and {url for url, _ in summaries} == {f"{live_server.url}/api/v2/summary.json"}
    _shot(page, "status-widget")
