"""A decided change request cannot be decided again: approve and reject name the moves its status allows."""

import pytest
from django.core.exceptions import ValidationError

from flags import services
from flags.models import ChangeRequest
from governance.services import save_audited

DECIDED = [ChangeRequest.Status.APPLIED, ChangeRequest.Status.REJECTED, ChangeRequest.Status.FAILED]


@pytest.mark.parametrize("status", DECIDED)
@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_deciding_a_decided_request__is_refused_and_the_flag_is_unchanged(
        make_flag, state_of, operator, release_manager, system_user, status, decide):
    state = state_of(make_flag("new-checkout"), "production")
    request = services.set_enabled(state=state, enabled=True, actor=operator, reason="launch").change_request
    assert request is not None
    request.status = status
    save_audited(instance=request, actor=system_user, reason="test: decided elsewhere", update_fields=["status"])
    action = services.approve_change_request if decide == "approve" else services.reject_change_request
    with pytest.raises(ValidationError) as exc:
        action(change_request=request, actor=release_manager, reason="second look")
    to = ChangeRequest.Status.APPLIED if decide == "approve" else ChangeRequest.Status.REJECTED
    assert exc.value.message_dict["status"] == [
        f"Change request #{request.pk} is {status}: it cannot move to {to} (allowed next: none ({status} is final))."]
    state.refresh_from_db()
    request.refresh_from_db()
    assert (request.status, state.enabled) == (status, False)
