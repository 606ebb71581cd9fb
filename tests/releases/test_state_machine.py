"""A release's life: one transition table; anything else is refused with the moves that are allowed."""

import pytest

from releases import services, states
from releases.models import Release

S = Release.State


def test_every_state__appears_in_the_table():
    mentioned = {s for pair in states.TRANSITIONS for s in pair}
    assert mentioned == set(S.values)


@pytest.mark.parametrize(("frm", "to"), [
    (S.REGISTERED, S.SUPERSEDED), (S.LIVE, S.PROMOTING), (S.ROLLED_BACK, S.LIVE), (S.ROLLED_BACK, S.PROMOTING),
    (S.SUPERSEDED, S.LIVE), (S.LIVE, S.REGISTERED),
])
def test_invalid_transition__is_refused_naming_the_allowed_moves(release, system_user, frm, to):
    release.state = frm
    with pytest.raises(services.Conflict) as exc:
        services.transition(release, to, actor=system_user, reason="test")
    message = exc.value.messages[0]
    assert f"is {frm}: it cannot move to {to}" in message
    assert "(allowed next: " in message


def test_rolled_back__is_final():
    assert states.allowed_from(S.ROLLED_BACK) == []


def test_transition__records_actor_reason_and_time(release, release_manager):
    before = release.state_changed_at
    services.transition(release, S.IN_PREVIEW, actor=release_manager, reason="deployed to preview")
    record = release.history.latest()
    assert (record.state, record.history_user, record.history_change_reason) == (
        "in_preview", release_manager, "deployed to preview")
    assert release.state_changed_at > before
