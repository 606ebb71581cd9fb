"""Change requests in the admin: approve/reject with a reason; the author cannot approve their own."""

import json

import pytest
from django.urls import reverse

from flags import services
from flags.models import ChangeRequest


@pytest.fixture
def pending(make_flag, state_of, operator):
    flag = make_flag("new-checkout")
    return services.set_enabled(state=state_of(flag, "production"), enabled=True, actor=operator,
                                reason="launch").change_request


def _post(client, action, request_, reason="ok"):
    return client.post(reverse("admin:flags_changerequest_changelist"), {
        "action": action, "_selected_action": [request_.pk], "confirm": "yes", "reason": reason}, follow=True)


def test_list__shows_pending_requests_first(client, administrator, pending, make_flag, state_of, operator):
    other = services.set_enabled(state=state_of(make_flag("other"), "production"), enabled=True, actor=operator,
                                 reason="x").change_request
    assert other is not None
    services.reject_change_request(change_request=other, actor=administrator, reason="no")
    client.force_login(administrator)
    page = client.get(reverse("admin:flags_changerequest_changelist")).content.decode()
    assert page.index("launch") < page.index("rejected")


def test_author__cannot_approve_their_own_request(client, operator, pending, state_of):
    client.force_login(operator)
    page = _post(client, "approve", pending).content.decode()
    assert "cannot approve it" in page
    pending.refresh_from_db()
    assert pending.status == "pending" and not state_of(pending.state.flag, "production").enabled


def test_other_operator__approves_and_it_applies(client, make_user, pending, state_of):
    from governance import roles

    second = make_user("otto", roles.OPERATOR)
    client.force_login(second)
    confirm = client.post(reverse("admin:flags_changerequest_changelist"),
                          {"action": "approve", "_selected_action": [pending.pk]})
    assert b"Approve change requests" in confirm.content and b"reason" in confirm.content
    page = _post(client, "approve", pending, reason="checked the dashboards").content.decode()
    assert "applied as revision" in page
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("applied", second)
    assert state_of(pending.state.flag, "production").enabled


def test_reject__records_the_reason(client, administrator, pending):
    client.force_login(administrator)
    _post(client, "reject", pending, reason="freeze week")
    pending.refresh_from_db()
    assert (pending.status, pending.message) == ("rejected", "freeze week")
    assert pending.history.latest().history_change_reason == "freeze week"


def test_request_page__is_read_only(client, administrator, pending):
    client.force_login(administrator)
    page = client.get(reverse("admin:flags_changerequest_change", args=[pending.pk])).content.decode()
    assert 'name="reason"' not in page and "launch" in page
    assert not ChangeRequest.objects.exclude(pk=pending.pk).exists()


def test_state_form__widening_in_production_becomes_a_request(client, operator, make_flag, state_of):
    flag = make_flag("new-checkout")
    state = state_of(flag, "production")
    client.force_login(operator)
    url = reverse("admin:flags_flagstate_change", args=[state.pk])
    form = {"enabled": "on", "strategies": "[]", "variants": "[]", "dependencies": "[]", "number": "",
            "seen_revision": state.revision, "reason": "launch"}
    page = client.post(url, form, follow=True).content.decode()
    assert "waits for a second person" in page
    assert not state_of(flag, "production").enabled


def test_state_form__edits_strategies_with_a_reason(client, operator, make_flag, state_of):
    flag = make_flag("new-checkout")
    state = state_of(flag, "development")
    client.force_login(operator)
    url = reverse("admin:flags_flagstate_change", args=[state.pk])
    strategies = [{"name": "flexibleRollout", "parameters": {"rollout": "25", "stickiness": "default",
                                                             "groupId": "new-checkout"}}]
    form = {"strategies": json.dumps(strategies), "variants": "[]", "dependencies": "[]", "number": "",
            "seen_revision": state.revision}
    assert b"This field is required" in client.post(url, form).content
    response = client.post(url, {**form, "reason": "quarter of users"})
    assert response.status_code == 302
    state = state_of(flag, "development")
    assert state.strategies == strategies
    assert state.history.latest().history_change_reason == "quarter of users"
    history = client.get(reverse("admin:flags_flagstate_history", args=[state.pk])).content.decode()
    assert "quarter of users" in history and "<strong>Strategies:</strong>" in history  # the field diff


def test_state_form__stale_revision_is_not_saved(client, operator, release_manager, make_flag, state_of):
    flag = make_flag("new-checkout")
    state = state_of(flag, "development")
    seen = state.revision
    services.set_enabled(state=state, enabled=True, actor=release_manager, reason="first")
    client.force_login(operator)
    url = reverse("admin:flags_flagstate_change", args=[state.pk])
    response = client.post(url, {"strategies": "[]", "variants": "[]", "dependencies": "[]", "number": "",
                                 "seen_revision": seen, "reason": "mine"})
    page = response.content.decode()
    assert response.status_code == 200 and "changed since you loaded it" in page
    assert ">\nmine</textarea>" in page  # the form is shown again with the input kept
    assert state_of(flag, "development").enabled



def test_state_form__one_refused_part_saves_no_part(client, operator, make_flag, state_of):
    flag = make_flag("max-batch", value_type="number", min_value=1, max_value=100, number=10)
    state = state_of(flag, "development")
    client.force_login(operator)
    url = reverse("admin:flags_flagstate_change", args=[state.pk])
    strategies = [{"name": "default", "parameters": {}}]
    page = client.post(url, {"strategies": json.dumps(strategies), "variants": "[]", "dependencies": "[]",
                             "number": "500", "seen_revision": state.revision, "reason": "bigger batches"},
                       follow=True).content.decode()
    assert "Not saved" in page and "at most 100" in page
    after = state_of(flag, "development")
    assert (after.strategies, after.number, after.revision) == ([], 10, state.revision)


def test_approval__records_both_reasons_whole_in_the_state_history(make_user, make_flag, state_of, operator):
    from governance import roles

    why = "launch for the spring campaign, agreed with marketing and support in the weekly review " * 2
    request_ = services.set_enabled(state=state_of(make_flag("spring"), "production"), enabled=True,
                                    actor=operator, reason=why).change_request
    assert request_ is not None
    approval = "checked the dashboards and the rollback plan with the on-call engineer"
    services.approve_change_request(change_request=request_, actor=make_user("otto", roles.OPERATOR),
                                    reason=approval)
    recorded = state_of(request_.state.flag, "production").history.latest().history_change_reason
    assert approval in recorded and why.strip() in recorded
