"""Segments in the admin: constraints the service refuses are reported, not a 500, and nothing is saved."""

from django.urls import reverse

from flags import services
from flags.models import Segment


def test_invalid_constraints__are_reported_and_nothing_is_saved(client, make_user, system_user):
    segment = services.save_segment(segment=Segment(name="beta-testers", constraints=[]), actor=system_user,
                                    reason="fixture")
    client.force_login(make_user("sudo", superuser=True))
    page = client.post(reverse("admin:flags_segment_change", args=[segment.pk]), {
        "name": "beta-testers", "description": "", "constraints": '[{"contextName": "country", "operator": "NEAR"}]',
        "reason": "target Europe"}, follow=True)
    assert page.status_code == 200
    assert "Not saved: segment &#x27;beta-testers&#x27;: unknown constraint operator &#x27;NEAR&#x27;." in (
        page.content.decode())
    segment.refresh_from_db()
    assert segment.constraints == [] and segment.history.count() == 1


def test_valid_constraints__are_saved_with_the_reason(client, make_user, system_user):
    segment = services.save_segment(segment=Segment(name="beta-testers", constraints=[]), actor=system_user,
                                    reason="fixture")
    admin_user = make_user("sudo", superuser=True)
    client.force_login(admin_user)
    constraints = '[{"contextName": "country", "operator": "IN", "values": ["FR"]}]'
    response = client.post(reverse("admin:flags_segment_change", args=[segment.pk]), {
        "name": "beta-testers", "description": "", "constraints": constraints, "reason": "target France"})
    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.constraints == [{"contextName": "country", "operator": "IN", "values": ["FR"]}]
    record = segment.history.latest()
    assert (record.history_user, record.history_change_reason) == (admin_user, "target France")


def test_constraints_the_evaluator_rejects__on_a_segment_in_use__are_refused(make_flag, state_of, operator,
                                                                            system_user):
    import pytest
    from django.core.exceptions import ValidationError

    from flags import delivery

    segment = services.save_segment(segment=Segment(name="beta-testers", constraints=[]), actor=system_user,
                                    reason="fixture")
    flag = make_flag("new-checkout")
    services.set_strategies(state=state_of(flag, "development"), actor=operator, reason="beta only",
                            strategies=[{"name": "default", "segments": [segment.pk]}])
    segment.constraints = [{"contextName": "userId", "operator": "IN", "values": 5}]  # "values" must be a list
    with pytest.raises(ValidationError, match="malformed"):
        services.save_segment(segment=segment, actor=system_user, reason="typo")
    segment.refresh_from_db()
    assert segment.constraints == []
    delivery.invalidate()
    snapshot = delivery.get_snapshot("shop", "development")
    assert snapshot is not None and "new-checkout" in snapshot.state.features
