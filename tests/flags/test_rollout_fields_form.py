"""The flag state page: the common rollout edited through fields, the JSON for the rest, input kept on errors."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from flags import services
from flags.rollout_fields import Rollout, Variant, from_definition, to_definition

pytestmark = pytest.mark.django_db


def _page(client, state):
    return reverse("admin:flags_flagstate_change", args=[state.pk])


def _form(state, **fields):
    """What the browser posts for an untouched page (with the admin's hidden initial values), `fields` changed."""
    loaded = {name: json.dumps(getattr(state, name)) for name in ("strategies", "variants", "dependencies")}
    return {**{f"initial-{name}": value for name, value in loaded.items()}, "enabled": "on" if state.enabled else "", "strategies": json.dumps(state.strategies),
            "variants": json.dumps(state.variants), "dependencies": json.dumps(state.dependencies), "number": "",
            "seen_revision": state.revision, "percentage": "", "stickiness": "default", "group_id": "",
            "user_ids": "", "constraint_lines": "", "variant_lines": "", **fields}


def test_rollout_fields__save_the_unleash_json(client, operator, make_flag, state_of):
    flag = make_flag("new-checkout")
    state = state_of(flag, "development")
    client.force_login(operator)
    response = client.post(_page(client, state), _form(
        state, percentage="25", stickiness="sessionId", group_id="checkout-2026", user_ids="alice, bob\ncarol",
        constraint_lines="country IN NL, BE\nappVersion SEMVER_GTE 2.1.0", variant_lines="blue 50%\ngreen 50% #0a0",
        reason="a quarter of Benelux"))
    assert response.status_code == 302
    state = state_of(flag, "development")
    constraints = [{"contextName": "country", "operator": "IN", "values": ["NL", "BE"]},
                   {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.1.0"}]
    assert state.strategies == [
        {"name": "flexibleRollout", "parameters": {"rollout": "25", "stickiness": "sessionId",
                                                   "groupId": "checkout-2026"}, "constraints": constraints},
        {"name": "userWithId", "parameters": {"userIds": "alice,bob,carol"}, "constraints": constraints}]
    assert [(v["name"], v["weight"], v.get("payload")) for v in state.variants] == [
        ("blue", 500, None), ("green", 500, {"type": "string", "value": "#0a0"})]
    assert state.history.latest().history_change_reason == "a quarter of Benelux"


def test_saved_rollout__is_shown_back_in_the_fields(client, operator, make_flag, state_of, system_user):
    flag = make_flag("new-checkout")
    state = state_of(flag, "development")
    strategies, variants = to_definition(
        Rollout(percentage=12.5, user_ids=["alice"],
                constraints=[{"contextName": "country", "operator": "IN", "values": ["NL"]}],
                variants=[Variant("blue", 1000)]), flag_key=flag.key, payload_type="string")
    services.set_strategies(state=state, strategies=strategies, variants=variants, actor=system_user, reason="set")
    client.force_login(operator)
    page = client.get(_page(client, state)).content.decode()
    assert 'name="percentage" value="12.5"' in page
    assert ">\ncountry IN NL</textarea>" in page and ">\nblue 100%</textarea>" in page and ">\nalice</textarea>" in page


def test_refused_rollout__shows_the_page_again_with_every_input_kept(client, operator, make_flag, state_of):
    flag = make_flag("new-checkout")
    state = state_of(flag, "development")
    client.force_login(operator)
    response = client.post(_page(client, state), _form(
        state, percentage="30", group_id="grp", constraint_lines="email REGEX (unclosed",
        reason="why I changed it"))
    page = response.content.decode()
    assert response.status_code == 200 and "is not a valid (RE2) regular expression" in page
    assert 'name="percentage" value="30"' in page and 'value="grp"' in page
    assert ">\nemail REGEX (unclosed</textarea>" in page and ">\nwhy I changed it</textarea>" in page
    assert state_of(flag, "development").revision == state.revision  # nothing saved


def test_json_that_does_not_parse__is_kept_with_the_reason(client, operator, make_flag, state_of):
    flag = make_flag("new-checkout")
    state = state_of(flag, "development")
    client.force_login(operator)
    broken = '[{"name": "flexibleRollout", "parameters": {"rollout": "40"}'
    page = client.post(_page(client, state), _form(state, strategies=broken, reason="forty")).content.decode()
    assert "Enter a valid JSON" in page
    assert broken.replace('"', "&quot;") in page and ">\nforty</textarea>" in page


def test_fields_and_json_both_edited__are_refused(client, operator, make_flag, state_of):
    flag = make_flag("new-checkout")
    state = state_of(flag, "development")
    client.force_login(operator)
    json_rollout = json.dumps([{"name": "flexibleRollout", "parameters": {"rollout": "90"}}])
    page = client.post(_page(client, state), _form(state, percentage="10", strategies=json_rollout,
                                                   reason="both")).content.decode()
    assert "You edited both the rollout fields and the advanced JSON" in page
    assert state_of(flag, "development").strategies == []


def test_json_beyond_the_fields__disables_them_and_the_json_still_saves(client, operator, make_flag, state_of,
                                                                        system_user):
    flag = make_flag("new-checkout")
    state = state_of(flag, "development")
    custom = [{"name": "remoteAddress", "parameters": {"IPs": "10.0.0.0/8"}}]
    services.set_strategies(state=state, strategies=custom, actor=system_user, reason="office only")
    state = state_of(flag, "development")
    client.force_login(operator)
    page = client.get(_page(client, state)).content.decode()
    assert 'name="percentage"' in page and "disabled" in page.split('name="percentage"')[1].split(">")[0]
    wider = [{"name": "remoteAddress", "parameters": {"IPs": "10.0.0.0/8,192.168.0.0/16"}}]
    response = client.post(_page(client, state), _form(state, strategies=json.dumps(wider), reason="and home"))
    assert response.status_code == 302 and state_of(flag, "development").strategies == wider


@pytest.mark.parametrize("strategies", [
    [{"name": "flexibleRollout", "parameters": {"rollout": "5"}, "segments": [1]}],
    [{"name": "default", "constraints": [{"contextName": "a", "operator": "IN", "values": ["x"], "inverted": True}]}],
    [{"name": "flexibleRollout", "parameters": {"rollout": "5"}},
     {"name": "userWithId", "parameters": {"userIds": "a"}, "constraints": [
         {"contextName": "a", "operator": "IN", "values": ["x"]}]}],
])
def test_rollout_the_fields_cannot_show__is_json_only(strategies):
    assert from_definition(strategies, []) is None
