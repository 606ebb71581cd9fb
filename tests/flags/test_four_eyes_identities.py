"""Four-eyes on flag change requests holds whoever acts: the approver is not the author under another login,
e-mail or name, and never a service account."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from flags import services as flag_services
from governance import roles, services_users


@pytest.fixture
def pending_request(make_flag, state_of, operator):
    request = flag_services.set_enabled(state=state_of(make_flag("new-checkout"), "production"), enabled=True,
                                        actor=operator, reason="launch").change_request
    assert request is not None
    return request


@pytest.mark.parametrize("kind, allowed", [("same-email-other-login", False), ("same-name-other-login", False),
                                           ("service-account", False), ("unrelated-person", True)])
def test_flag_change_request_approver__refused_when_the_same_person_or_a_service_account(
        make_user, pending_request, operator, system_user, kind, allowed):
    operator.email, operator.first_name, operator.last_name = "olga@corp.example", "Olga", "Berg"
    operator.save()
    if kind == "service-account":
        approver = services_users.create_service_account(username="pager-bot", description="pager",
                                                         actor=system_user, reason="test").user
    else:
        approver = make_user("o.berg" if kind != "unrelated-person" else "ralph", roles.OPERATOR)
        approver.email = "OLGA@corp.example" if kind == "same-email-other-login" else "x@corp.example"
        approver.first_name, approver.last_name = ("Olga", "Berg") if kind == "same-name-other-login" else ("R", "S")
        approver.save()

    if allowed:
        flag_services.approve_change_request(change_request=pending_request, actor=approver, reason="ok")
        pending_request.refresh_from_db()
        assert pending_request.status == "applied"
        return
    with pytest.raises(ValidationError, match="cannot approve it"):
        flag_services.approve_change_request(change_request=pending_request, actor=approver, reason="ok")
    pending_request.refresh_from_db()
    assert pending_request.status == "pending"
