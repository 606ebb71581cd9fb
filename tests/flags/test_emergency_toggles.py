"""Maintenance mode and kill switches with an expiry revert on their own: served reverted at once, recorded by the job."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from flags import services, tasks
from flags.models import Flag

URL = "/api/v1/flags/snapshot"


def test_maintenance__defaults_to_30_minutes_and_records_the_reason(service, production, operator, state_of):
    outcome = services.enter_maintenance(service=service, environment=production, actor=operator,
                                         reason="database upgrade")
    state = outcome.state
    assert outcome.applied and state.enabled and state.expires_at is not None
    assert timedelta(minutes=29) < state.expires_at - timezone.now() <= timedelta(minutes=30)
    assert state.revert_to == {"enabled": False}
    record = state.history.latest()
    assert (record.history_user, record.history_change_reason) == (operator, "database upgrade")


def test_expired_toggle__is_reverted_by_the_job(service, production, operator, state_of):
    services.enter_maintenance(service=service, environment=production, actor=operator, reason="upgrade",
                               expires_in=timedelta(minutes=5))
    flag = Flag.objects.get(service=service, key="maintenance_mode")
    assert services.revert_expired(now=timezone.now() + timedelta(minutes=4)) == []
    reverted = services.revert_expired(now=timezone.now() + timedelta(minutes=6))
    state = state_of(flag, "production")
    assert [s.pk for s in reverted] == [state.pk]
    assert (state.enabled, state.expires_at, state.revert_to) == (False, None, None)
    assert state.history.latest().history_change_reason.startswith("expired: emergency toggle set until")
    assert state.history.latest().history_user.username == "system"


def test_expired_toggle__is_served_reverted_without_the_worker_and_the_read_writes_nothing(
        api, reader, service, production, operator, state_of, monkeypatch):
    outcome = services.enter_maintenance(service=service, environment=production, actor=operator, reason="upgrade")
    state = outcome.state
    services._apply(services._lock(state), {}, actor=operator, reason="test: pretend 31 minutes passed",
                    expires_at=timezone.now() - timedelta(seconds=1), revert_to={"enabled": False})
    body = api(reader).get(URL, {"service": "shop", "environment": "production"}).json()
    assert {f["name"]: f["enabled"] for f in body["features"]}["maintenance_mode"] is False
    assert state_of(state.flag, "production").enabled is True  # served reverted; the job records it
    assert services.revert_expired() and state_of(state.flag, "production").enabled is False


def test_cached_snapshot__reverts_when_its_toggle_expires(api, reader, service, production, operator, settings,
                                                         monkeypatch):
    settings.FLAGS_MEMORY_TTL_SECONDS = 3600
    services.engage_kill_switch(state=services.state_for(service=service, environment=production,
                                                         key="kill_switch_api"),
                                actor=operator, reason="attack", expires_in=timedelta(minutes=10))
    client = api(reader)
    params = {"service": "shop", "environment": "production"}
    assert {f["name"]: f["enabled"] for f in client.get(URL, params).json()["features"]}["kill_switch_api"]
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 11 * 60)
    body = client.get(URL, params).json()
    assert {f["name"]: f["enabled"] for f in body["features"]}["kill_switch_api"] is False


def test_job__reverts_every_due_toggle(service, production, preview, operator):
    for environment in (production, preview):
        services.enter_maintenance(service=service, environment=environment, actor=operator, reason="x",
                                   expires_in=timedelta(seconds=1))
    import time

    time.sleep(1.1)
    assert tasks.revert_expired() == 2


@pytest.mark.parametrize("expires_in", [timedelta(0), timedelta(days=31)])
def test_expiry_out_of_range__is_refused(service, production, operator, expires_in):
    with pytest.raises(ValidationError, match="expir"):
        services.enter_maintenance(service=service, environment=production, actor=operator, reason="x",
                                   expires_in=expires_in)


def test_engaging_a_non_kill_switch__is_refused(make_flag, state_of, operator):
    with pytest.raises(ValidationError, match="not a kill switch"):
        services.engage_kill_switch(state=state_of(make_flag("new-checkout"), "production"), actor=operator,
                                    reason="x")
