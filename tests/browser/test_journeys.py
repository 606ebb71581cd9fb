"""The operator, release manager and auditor journeys in a real browser (Debian's chromium) against a live server.

Each journey logs in as a demo user, does what the person would do, checks what the screen says, and saves
screenshots to docs/screenshots/ (the docs pages show them). One browser for the module; each journey has its
own context (cookies) and its own data (the parts of the demo data it needs; the drill made finished, so no worker is needed).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "pw-for-browser-tests"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser_context_factory():
    """Browser contexts of one test, in a Playwright started for the test and stopped when it ends, before the
    transactional test flushes the database.

    Playwright's sync API runs an asyncio loop in this thread, and while it runs Django's thread-critical
    connection handler hands out a separate connection object (asgiref keys it by context): the database set-up
    and flush of pytest-django must happen outside that window, on the thread's own connection (which holds the
    serialized data the next test restores), so Playwright lives inside the test only. The test's own ORM calls
    happen between browser calls, never concurrently with the live server's threads."""
    had = "DJANGO_ALLOW_ASYNC_UNSAFE" in os.environ
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)  # a fresh profile
            contexts = []

            def make():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.set_default_timeout(15_000)
                contexts.append(context)
                return context

            yield make
            for context in contexts:
                for page in context.pages:
                    page.wait_for_load_state("networkidle")
                context.close()
            browser.close()
    finally:
        from django.db import connections

        connections.close_all()  # the connections opened while Playwright's loop ran
        if not had:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]  # later tests keep Django's guard


def _seed(*parts):
    """The minimal seed, the demo users with a known password, then only the demo parts a journey needs."""
    from django.apps import apps

    from governance import demo, roles
    from governance.models import Service
    from governance.services import system_user

    roles.sync_roles(apps)  # the flush after a transactional test can leave the groups without their rows
    call_command("seed_demo", minimal=True, stdout=open(os.devnull, "w"))  # noqa: SIM115 - closed with the process
    demo.users()
    for user in get_user_model().objects.filter(username__in=[u for u, _ in demo.DEMO_USERS]):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    service, actor = Service.objects.get(slug="shop"), system_user()
    for part in parts:
        if part in ("flags", "releases", "schema_plan"):
            getattr(demo, part)(service, actor)
        elif part == "sli":
            demo.sli(service)
        elif part == "recovery":
            from recovery.models import Drill

            demo.recovery(actor)
            now = timezone.now()  # as if the worker had run it
            Drill.objects.filter(kind="pitr").update(status="passed", started_at=now, finished_at=now,
                                                     total_seconds=12.5)
    return service


def _login(page, live_server, username):
    page.goto(f"{live_server.url}/{settings.ADMIN_PATH}login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#needs-attention")


def _shot(page, name, *, full_page=True):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def test_operator_journey__sees_what_needs_attention_engages_and_a_second_operator_approves(
        live_server, browser_context_factory):
    _seed("flags")
    context = browser_context_factory()
    page = context.new_page()
    _login(page, live_server, "olga")
    home = page.inner_text("#needs-attention")
    assert "kill_switch_api engaged in preview" in home and "waiting for a second person" in home
    _shot(page, "admin-home")

    page.click("#ops-console-link")
    page.click("a[href$='/ops/shop/']")
    assert page.locator("h1").count() == 1
    production_row = page.locator("#env-production tr", has_text="kill_switch_api")
    production_row.locator("a.button", has_text="engage").click()
    page.fill("#id_reason", "bot traffic on the API")
    page.click("input[type=submit][value^=Confirm]")
    assert "ENGAGED" in page.locator("#env-production tr", has_text="kill_switch_api").inner_text()
    page.locator("#env-production tr", has_text="kill_switch_api").locator("a.button", has_text="disengage").click()
    page.fill("#id_reason", "bot traffic stopped")
    page.click("input[type=submit][value^=Confirm]")
    row = page.locator("#env-production tr", has_text="kill_switch_api")
    assert "disengage kill switch" in row.inner_text()  # the pending request is on the row
    _shot(page, "ops-console")

    second = browser_context_factory().new_page()
    _login(second, live_server, "oscar")
    second.goto(page.url)
    second.locator("#env-production tr", has_text="kill_switch_api").locator("a", has_text="change request").click()
    decision = second.inner_text(".change-decision")
    assert "disengage kill switch" in decision and "olga" in decision and "bot traffic stopped" in decision
    _shot(second, "change-request")
    second.click("button[value=approve]")
    second.fill("#id_reason", "checked the graphs: traffic is normal")
    second.click("#confirm-button")
    assert "Approve change requests: 1 done." in second.inner_text("ul.messagelist")


def test_release_manager_journey__a_failed_scan_blocks_and_the_page_says_why(
        live_server, browser_context_factory):
    _seed("releases")
    page = browser_context_factory().new_page()
    _login(page, live_server, "rita")
    page.goto(f"{live_server.url}/{settings.ADMIN_PATH}releases/release/")
    assert "✗ failed: security-scan" in page.inner_text("#result_list")
    page.click("text=shop 1.2.0")
    assert "security-scan" in page.inner_text(".failure-banner")
    _shot(page, "release-failed-check")
    page.click("button[value=promote]")
    assert page.inner_text("#gate-decision") == "block"
    assert page.locator("#confirm-button").is_disabled()
    assert "Cannot confirm" in page.inner_text(".blocked-reason")
    _shot(page, "promote-blocked")

    page.goto(f"{live_server.url}/{settings.ADMIN_PATH}releases/release/")
    page.click("text=shop 1.1.0")
    page.click("button[value=approve]")
    assert page.locator("#confirm-button").is_enabled()
    assert "lint" in page.inner_text(".gate-inputs")  # the advisory failure is named, not blocking
    _shot(page, "approve-page")
    page.fill("#id_reason", "reviewed the changelog and the checks")
    page.click("#confirm-button")
    assert "approved (evidence" in page.inner_text("ul.messagelist")


def test_auditor_journey__slo_and_drill_pages_say_what_they_know(live_server, browser_context_factory):
    service = _seed("sli", "recovery")
    page = browser_context_factory().new_page()
    _login(page, live_server, "audrey")
    page.goto(f"{live_server.url}/{settings.ADMIN_PATH}observability/slo/service/{service.pk}/")
    text = page.text_content("#content")  # captions are upper-cased by the admin's CSS: read the source text
    assert "Live evaluation" in text and "Alert state" in text and "no data" in text
    _shot(page, "slo-page", full_page=False)  # the first SLO is enough; the whole page is megabytes
    page.goto(f"{live_server.url}/{settings.ADMIN_PATH}recovery/drill/")
    assert "PITR mechanism self-test in throwaway clusters" in page.inner_text("#result_list")
    page.click("#result_list tbody a >> nth=0")
    assert "says nothing about portal-db's own backups" in page.inner_text("#content")
    _shot(page, "drill-page")


def test_operator_edits_a_rollout_through_fields__an_error_keeps_every_input(live_server, browser_context_factory):
    from flags import services as flag_services
    from flags.models import Flag, FlagState
    from governance.services import system_user

    _seed("flags")
    flag_services.update_flag(flag=Flag.objects.get(key="search-v2"), expected_lifetime_days=0, actor=system_user(),
                              reason="browser test: a flag past its lifetime")
    state = FlagState.objects.get(flag__key="new-checkout", environment__slug="preview")
    page = browser_context_factory().new_page()
    _login(page, live_server, "olga")
    page.goto(f"{live_server.url}/{settings.ADMIN_PATH}flags/flag/")
    assert page.locator("#result_list td.field-stale img").count() == 0  # no red cross for "not stale"
    assert page.locator("#result_list tr", has_text="search-v2").locator("td.field-stale .verdict-stale").count() == 1
    assert page.locator("#result_list tr", has_text="new-checkout").locator("td.field-stale").inner_text() == "-"
    _shot(page, "flags-list")

    page.goto(f"{live_server.url}/{settings.ADMIN_PATH}flags/flagstate/{state.pk}/change/")
    assert page.input_value("#id_percentage") == "50" and page.input_value("#id_stickiness") == "userId"
    page.fill("#id_percentage", "25")
    page.fill("#id_constraint_lines", "country IN NL, BE\nemail REGEX (unclosed")
    page.fill("#id_variant_lines", "blue 50%\ngreen 50%")
    page.fill("#id_reason", "a quarter, Benelux only")
    page.click("input[name=_save]")
    assert "is not a valid (RE2) regular expression" in page.inner_text(".field-constraint_lines")
    assert page.input_value("#id_percentage") == "25" and page.input_value("#id_reason") == "a quarter, Benelux only"
    assert "email REGEX (unclosed" in page.input_value("#id_constraint_lines")
    assert page.input_value("#id_variant_lines") == "blue 50%\ngreen 50%"
    _shot(page, "flag-rollout-error")

    page.fill("#id_constraint_lines", "country IN NL, BE")
    page.click("input[name=_save]")
    assert "applied (revision" in page.inner_text("ul.messagelist")
    state.refresh_from_db()
    assert state.strategies[0]["parameters"]["rollout"] == "25"
    assert state.strategies[0]["constraints"] == [{"contextName": "country", "operator": "IN", "values": ["NL", "BE"]}]
    page.goto(f"{live_server.url}/{settings.ADMIN_PATH}flags/flagstate/{state.pk}/change/")
    _shot(page, "flag-rollout-fields")


def test_auditor_filters_the_timeline_and_opens_the_export(live_server, browser_context_factory, capsys):
    from governance.models import AuditEvent

    _seed("flags", "releases")
    events = AuditEvent.objects.count()
    page = browser_context_factory().new_page()
    _login(page, live_server, "audrey")
    page.goto(f"{live_server.url}/{settings.ADMIN_PATH}governance/auditevent/")
    rows = page.locator("#result_list > tbody > tr").count()
    folded = page.evaluate("document.documentElement.scrollHeight")
    page.evaluate("document.querySelectorAll('details.audit-diff').forEach(d => d.open = true)")
    unfolded = page.evaluate("document.documentElement.scrollHeight")
    with capsys.disabled():
        print(f"\naudit timeline: {rows} rows of {events} events; {folded} px folded, {unfolded} px with every diff "
              f"open ({folded / rows:.0f} vs {unfolded / rows:.0f} px per event)")
    assert rows == min(events, 100) and folded < unfolded / 2
    page.evaluate("document.querySelectorAll('details.audit-diff').forEach(d => d.open = false)")
    page.locator("#result_list details.audit-diff summary", has_text="2 fields").first.click()
    page.evaluate("document.querySelector('#changelist .results').scrollLeft = 0")
    _shot(page, "audit-timeline", full_page=False)

    page.locator("#changelist-filter a", has_text="olga").first.click()
    page.locator("#changelist-filter a", has_text="Flag state (flags)").click()
    page.locator("#changelist-filter a", has_text="shop").first.click()
    listed = page.inner_text("#result_list")
    assert "demo: a load test is hammering preview" in listed  # olga engaged a kill switch in preview
    assert {who.split()[0] for who in page.locator("#result_list td.field-who").all_inner_texts()} == {"olga"}
    page.click("#audit-export-link")
    assert page.input_value("#id_actor") == "olga" and page.input_value("#id_model") == "flags.flagstate"
    assert page.input_value("#id_service") == "shop"
    _shot(page, "audit-export")
    with page.expect_download() as download:
        page.click("input[type=submit][value=Export]")
    lines = download.value.path().read_text().splitlines()
    assert len(lines) >= 2 and '"type":"audit-trailer"' in lines[-1]  # streamed whole from the live server
    page.click("#audit-verify-link")
    assert "govctl audit verify audit.jsonl --public-key keys.json" in page.inner_text("#verify-steps")
