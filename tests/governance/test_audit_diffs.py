"""Audit diffs are complete: whole values, JSON as JSON, foreign keys by name, toggles' expiry, requests' before."""

from datetime import timedelta

import pytest
from django.urls import reverse

from flags import services as flag_services
from flags.models import FlagState, Kind
from governance.models import AuditEvent

ROLLOUT = [{"name": "flexibleRollout", "constraints": [], "parameters": {
    "rollout": "37", "stickiness": "default", "groupId": "a-long-group-id-so-the-json-is-longer-than-eighty-chars"}}]


def _state(flag, environment):
    return FlagState.objects.select_related("flag", "environment").get(flag=flag, environment__slug=environment)


def _changes(event):
    return {c["field"]: c for c in event.changes}


@pytest.fixture
def flag(service, system_user):
    return flag_services.create_flag(service=service, key="new-checkout", owner="checkout team", actor=system_user,
                                     reason="test fixture")


def test_rollout_change__keeps_the_whole_json_in_the_event_and_on_the_admin_page(flag, operator, client, auditor):
    flag_services.set_strategies(state=_state(flag, "development"), strategies=ROLLOUT, actor=operator,
                                 reason="37 percent")
    event = AuditEvent.objects.get(reason="37 percent")
    assert _changes(event)["strategies"]["new"] == ROLLOUT  # JSON, not its text
    client.force_login(auditor)
    page = client.get(reverse("admin:governance_auditevent_change", args=[event.pk])).content.decode()
    assert "&quot;rollout&quot;: &quot;37&quot;" in page and "a-long-group-id-so-the-json" in page
    listing = client.get(reverse("admin:governance_auditevent_changelist"), {"model": "flags.flagstate"})
    assert "&quot;rollout&quot;: &quot;37&quot;" in listing.content.decode()


def test_foreign_keys__show_their_names_next_to_their_ids(flag, client, auditor):
    created = AuditEvent.objects.get(model="flags.flagstate", change="+", object_repr=f"{flag} @ production")
    environment = _changes(created)["environment"]
    assert environment["new"] == created.environment_id and environment["new_label"] == "production"
    assert _changes(created)["flag"]["new_label"] == str(flag)
    client.force_login(auditor)
    page = client.get(reverse("admin:governance_auditevent_change", args=[created.pk])).content.decode()
    assert f"{created.environment_id} (production)" in page


def test_engaged_kill_switch__records_its_expiry_and_what_it_reverts_to(service, operator, system_user):
    switch = flag_services.create_flag(service=service, key="stop-payments", kind=Kind.KILL_SWITCH, owner="ops",
                                       actor=system_user, reason="test fixture")
    flag_services.engage_kill_switch(state=_state(switch, "production"), actor=operator, reason="incident 42",
                                     expires_in=timedelta(minutes=30))
    changes = _changes(AuditEvent.objects.get(reason="incident 42"))
    state = _state(switch, "production")
    assert changes["enabled"]["new"] is True
    assert changes["expires_at"]["old"] is None and changes["expires_at"]["new"] == state.expires_at.isoformat()
    assert changes["revert_to"]["new"] == {"enabled": False}


def test_change_request__records_the_state_before_and_the_change_after(flag, operator):
    outcome = flag_services.set_enabled(state=_state(flag, "production"), enabled=True, actor=operator,
                                        reason="launch")
    assert not outcome.applied  # production needs a second person: a change request
    event = AuditEvent.objects.get(model="flags.changerequest", reason="launch")
    assert _changes(event)["payload"] == {"field": "payload", "old": {"enabled": False}, "new": {"enabled": True}}
    assert event.environment is not None and event.environment.slug == "production"
    assert event.service_id == flag.service_id
