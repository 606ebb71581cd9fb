"""govctl's own SDK against a live portal: signed snapshots verify, answers match, heartbeats count."""

import pytest
from govctl.flags.evaluation import State, evaluate
from govctl.sdk import FlagClient

from flags import queries, services


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_flag_client__verifies_the_signature_evaluates_and_reports_its_revision(live_server, reader, make_flag,
                                                                                 state_of, system_user, tmp_path,
                                                                                 settings, api, service,
                                                                                 development):
    flag = make_flag("new-checkout")
    services.set_strategies(state=state_of(flag, "development"), actor=system_user, reason="half", strategies=[
        {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "userId", "groupId": "co"}}])
    services.set_enabled(state=state_of(flag, "development"), enabled=True, actor=system_user, reason="on")
    client = FlagClient(url=live_server.url, token=reader, service="shop", environment="development",
                        signing_secret=settings.FLAGS_SIGNING_SECRET, lkg_path=tmp_path / "lkg.json",
                        background=False, timeout=5)
    try:
        assert client.refresh() is True
        state = State(api(reader).get("/api/v1/flags/snapshot", {"service": "shop",
                                                                 "environment": "development"}).json())
        answers = [client.is_enabled("new-checkout", {"userId": str(u)}) for u in range(50)]
        assert answers == [evaluate(state, "new-checkout", {"userId": str(u)}).enabled for u in range(50)]
        assert any(answers) and not all(answers)
        assert client.get_value("rate_limit_multiplier") == 1.0
    finally:
        client.stop()
    applied = queries.applied(service=service, environment=development)
    assert (applied.current, applied.seen) == (1, 1)  # its heartbeat carried the current revision


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_flag_client__refuses_a_snapshot_signed_with_another_secret(live_server, reader, service, tmp_path):
    client = FlagClient(url=live_server.url, token=reader, service="shop", environment="development",
                        signing_secret="not-the-portal-secret", lkg_path=tmp_path / "lkg.json", background=False,
                        timeout=5, heartbeat=False)
    try:
        assert client.refresh() is False and "signature" in (client.last_error or "")
    finally:
        client.stop()
