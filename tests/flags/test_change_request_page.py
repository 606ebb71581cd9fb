"""A change request's page shows what approving does, in words and as before → after, with Approve and Reject."""

from django.urls import reverse

from flags import services
from flags.models import FlagState


def _kill_switch(service):
    return FlagState.objects.get(flag__service=service, flag__key="kill_switch_api", environment__slug="production")


def _disengage_request(service, engaged_by, asked_by):
    services.engage_kill_switch(state=_kill_switch(service), actor=engaged_by, reason="abuse")
    return services.disengage_kill_switch(state=_kill_switch(service), actor=asked_by,
                                          reason="abuse stopped at 10:40").change_request


def test_request_page__shows_author_reason_words_diff_and_decide_buttons(client, service, operator,
                                                                         release_manager, administrator):
    request_ = _disengage_request(service, release_manager, operator)
    client.force_login(administrator)
    page = client.get(reverse("admin:flags_changerequest_change", args=[request_.pk])).content.decode()
    assert '<strong class="operation-words">disengage kill switch</strong>' in page
    assert "olga" in page and "abuse stopped at 10:40" in page
    assert "<del>on</del>" in page and "<ins>off</ins>" in page
    assert 'value="approve"' in page and 'value="reject"' in page


def test_approve_from_the_list__confirmation_shows_the_same_facts(client, service, operator, release_manager,
                                                                   administrator):
    request_ = _disengage_request(service, release_manager, operator)
    client.force_login(administrator)
    page = client.post(reverse("admin:flags_changerequest_changelist"),
                       {"action": "approve", "_selected_action": [request_.pk]}).content.decode()
    assert "disengage kill switch" in page and "<del>on</del>" in page and "abuse stopped at 10:40" in page


def test_ops_console__shows_the_pending_request_on_the_row_and_production_first(client, service, operator,
                                                                                release_manager):
    request_ = _disengage_request(service, release_manager, operator)
    client.force_login(operator)
    page = client.get(reverse("admin:flags_ops_console", args=["shop"])).content.decode()
    row = page[page.index(f'id="row-{request_.state_id}"'):]
    row = row[:row.index("</tr>")]
    assert reverse("admin:flags_changerequest_change", args=[request_.pk]) in row
    assert "disengage kill switch" in row
    assert page.index('id="env-production"') < page.index('id="env-development"')
    assert page.count("<h1>") == 1


def test_ops_console__last_toggle_ignores_a_save_that_changed_nothing_served(client, service, operator,
                                                                             release_manager):
    services.engage_kill_switch(state=_kill_switch(service), actor=release_manager, reason="abuse from one ip")
    state = _kill_switch(service)
    state.stamp(actor=operator, reason="description tidy-up")  # a save that serves the same thing
    state.save()
    client.force_login(operator)
    page = client.get(reverse("admin:flags_ops_console", args=["shop"])).content.decode()
    row = page[page.index(f'id="row-{state.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "rita" in row and "abuse from one ip" in row and "description tidy-up" not in row
