"""The ops console: operational flags per environment, engage/disengage with a confirmation and a reason."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from flags import services
from flags.models import ChangeRequest, Flag, FlagState


@pytest.fixture
def console(client, operator, service):
    client.force_login(operator)
    return reverse("admin:flags_ops_console", args=["shop"])


def _state(service, key, env):
    return FlagState.objects.get(flag__service=service, flag__key=key, environment__slug=env)


def _action_url(state, action):
    return reverse("admin:flags_ops_action", args=[state.flag.service.slug, state.pk, action])


def test_console__shows_each_environment_with_who_when_why_and_expiry(client, console, service, production,
                                                                       release_manager):
    services.enter_maintenance(service=service, environment=production, actor=release_manager,
                               reason="payment provider outage")
    page = client.get(console).content.decode()
    for env in ("development", "preview", "production"):
        assert f'id="env-{env}"' in page
    for key in ("maintenance_mode", "kill_switch_api", "kill_switch_database", "rate_limit_multiplier"):
        assert key in page
    row = page[page.index(f'id="row-{_state(service, "maintenance_mode", "production").pk}"'):]
    row = row[:row.index("</tr>")]
    assert "ENGAGED" in row and "rita" in row and "payment provider outage" in row and "UTC (in" in row
    assert "no SDK instance seen" in page


def test_engage_maintenance__confirms_defaults_to_30_minutes_and_needs_a_reason(client, console, service, operator):
    state = _state(service, "maintenance_mode", "production")
    url = _action_url(state, "engage")
    confirm = client.get(url).content.decode()
    assert re.search(r'name="expires_in_minutes"[^>]*value="30"', confirm)
    missing = client.post(url, {"reason": "", "expires_in_minutes": 30, "revision": state.revision})
    assert missing.status_code == 200 and "This field is required" in missing.content.decode()
    done = client.post(url, {"reason": "deploying schema change", "expires_in_minutes": 30,
                             "revision": state.revision})
    assert done.status_code == 302 and done["Location"] == console
    state.refresh_from_db()
    assert state.enabled and timedelta(minutes=29) < state.expires_at - timezone.now() <= timedelta(minutes=30)
    record = state.history.latest()
    assert (record.history_user, record.history_change_reason) == (operator, "deploying schema change")


def test_kill_switch_without_expiry__stays_until_turned_off(client, console, service):
    state = _state(service, "kill_switch_api", "production")
    client.post(_action_url(state, "engage"), {"reason": "abuse", "revision": state.revision})
    state.refresh_from_db()
    assert state.enabled and state.expires_at is None


def test_disengage_in_production__becomes_a_change_request(client, console, service, production, release_manager):
    services.engage_kill_switch(state=_state(service, "kill_switch_api", "production"), actor=release_manager,
                                reason="abuse")
    state = _state(service, "kill_switch_api", "production")
    assert "someone else must approve" in client.get(_action_url(state, "disengage")).content.decode()
    response = client.post(_action_url(state, "disengage"), {"reason": "over", "revision": state.revision},
                           follow=True)
    assert "waits for a second person" in response.content.decode()
    assert ChangeRequest.objects.filter(state=state, status="pending").exists()
    assert _state(service, "kill_switch_api", "production").enabled


def test_stale_revision__is_a_clear_error(client, console, service, release_manager):
    state = _state(service, "kill_switch_database", "development")
    seen = state.revision
    services.engage_kill_switch(state=state, actor=release_manager, reason="someone else first")
    response = client.post(_action_url(state, "disengage"), {"reason": "mine", "revision": seen}, follow=True)
    assert "changed since you loaded it" in response.content.decode()
    assert _state(service, "kill_switch_database", "development").enabled


def test_multiplier_out_of_bounds__is_refused_on_the_confirmation_page(client, console, service):
    state = _state(service, "rate_limit_multiplier", "development")
    response = client.post(_action_url(state, "set_number"), {"number": 50, "reason": "x", "revision": state.revision})
    assert response.status_code == 200 and "must be at most 10" in response.content.decode()


def test_expired_toggle__shows_reverted_when_the_console_is_read_and_nothing_is_written(client, console, service,
                                                                                        production, operator):
    state = services.enter_maintenance(service=service, environment=production, actor=operator, reason="x").state
    services._apply(services._lock(state), {}, actor=operator, reason="test: time passes",
                    expires_at=timezone.now() - timedelta(seconds=1), revert_to={"enabled": False})
    response = client.get(console)
    row = next(r for env in response.context["environments"] for r in env["states"]
               if r["state"].pk == state.pk)
    assert (row["summary"], row["actions"]) == ("off", ["engage"])
    assert _state(service, "maintenance_mode", "production").enabled  # the job records the revert


def test_auditor__sees_the_console_but_cannot_act(client, auditor, service):
    client.force_login(auditor)
    assert client.get(reverse("admin:flags_ops_console", args=["shop"])).status_code == 200
    state = _state(service, "maintenance_mode", "production")
    assert client.post(_action_url(state, "engage"), {"reason": "x", "revision": state.revision}).status_code == 403
    assert not _state(service, "maintenance_mode", "production").enabled


def test_ops_index__lists_services(client, operator, service):
    client.force_login(operator)
    page = client.get(reverse("admin:flags_ops_index")).content.decode()
    assert reverse("admin:flags_ops_console", args=["shop"]) in page


def test_flag_list__filters_by_kind_environment_state_and_staleness(client, operator, service, make_flag,
                                                                    state_of, system_user):
    client.force_login(operator)
    live = make_flag("live-one")
    services.set_enabled(state=state_of(live, "development"), enabled=True, actor=system_user, reason="on")
    make_flag("old-one", expected_lifetime_days=0)
    url = reverse("admin:flags_flag_changelist")
    kill = client.get(url, {"kind__exact": "kill_switch", "service__id__exact": service.pk}).content.decode()
    assert "maintenance_mode" in kill and "live-one" not in kill
    on_dev = client.get(url, {"state": "development:on", "service__id__exact": service.pk}).content.decode()
    assert "live-one" in on_dev and "old-one" not in on_dev
    stale = client.get(url, {"stale": "yes"}).content.decode()
    assert "old-one" in stale and "live-one" not in stale
    assert "development: on" in client.get(url, {"q": "live-one"}).content.decode()


def test_stale_report__lists_why(client, operator, make_flag):
    make_flag("old-one", expected_lifetime_days=0)
    client.force_login(operator)
    page = client.get(reverse("admin:flags_stale_report")).content.decode()
    assert "old-one" in page and "past its expected lifetime" in page


def test_add_flag__through_the_admin_creates_its_states(client, operator, service):
    client.force_login(operator)
    response = client.post(reverse("admin:flags_flag_add"), {
        "service": service.pk, "key": "new-search", "kind": "release", "value_type": "boolean", "owner": "search",
        "description": "", "expected_lifetime_days": 60, "failure_mode": "last_known_good",
        "reason": "search rewrite"})
    assert response.status_code == 302, response.content.decode()[:2000]
    flag = Flag.objects.get(key="new-search")
    assert flag.states.count() == 3
    assert flag.history.latest().history_change_reason == "search rewrite"


def test_engage__keeps_a_long_reason_whole_in_the_history(client, console, service, operator):
    state = _state(service, "kill_switch_api", "production")
    reason = "INC-4711: card testing attack from rotating IPs; " + "details of the mitigation. " * 10
    done = client.post(_action_url(state, "engage"), {"reason": reason, "revision": state.revision})
    assert done.status_code == 302
    assert state.history.latest().history_change_reason == reason.strip()


def test_add_flag__with_a_lifetime_beyond_the_calendar_is_refused_and_the_list_still_renders(client, operator,
                                                                                              service):
    client.force_login(operator)
    page = client.post(reverse("admin:flags_flag_add"), {
        "service": service.pk, "key": "forever", "kind": "release", "value_type": "boolean", "owner": "search",
        "description": "", "expected_lifetime_days": 5_000_000, "failure_mode": "last_known_good",
        "reason": "typo"}, follow=True)
    assert page.status_code == 200 and "leave it empty for a permanent flag" in page.content.decode()
    assert not Flag.objects.filter(key="forever").exists()
    assert client.get(reverse("admin:flags_flag_changelist")).status_code == 200
