"""With PostgreSQL unreachable (for real: the connection points at a closed port), flag reads keep answering.

memory (this process's copy) → last-known-good file → the flag's failure mode; break-glass overrides on top.
"""

import contextlib
import socket

import pytest
from django.core.management import call_command
from django.db import connections

from flags import breakglass, delivery
from flags.models import BreakGlassRecord, FlagState

SNAPSHOT = "/api/v1/flags/snapshot"
EVALUATE = "/api/v1/flags/evaluate"
SHOP_PROD = {"service": "shop", "environment": "production"}
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@contextlib.contextmanager
def database_down():
    """Point the default connection at a port nobody listens on: every query fails as in an outage."""
    connection = connections["default"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = closed_port
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved


@pytest.fixture
def flags(make_flag, state_of, force, settings):
    settings.FLAGS_MEMORY_TTL_SECONDS = 0  # every request revalidates: the outage is seen at once
    settings.FLAGS_DB_RETRY_SECONDS = 0
    closed = make_flag("payments-v2", failure_mode="fail_closed")
    force(state_of(closed, "production"), {"enabled": True})
    lkg = make_flag("new-checkout")
    force(state_of(lkg, "production"), {"enabled": True})


def _evaluate(client):
    response = client.post(EVALUATE, {**SHOP_PROD, "flags": ["payments-v2", "new-checkout"]}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_running_process__answers_from_memory_with_cached_reasons(api, reader, flags):
    client = api(reader)
    etag = client.get(SNAPSHOT, SHOP_PROD)["ETag"]
    _evaluate(client)
    with database_down():
        snapshot = client.get(SNAPSHOT, SHOP_PROD)
        assert snapshot.status_code == 200 and snapshot["X-Flags-Source"] == "memory"
        assert snapshot["ETag"] == etag
        answers = _evaluate(client)
    assert answers["degraded"] is True and answers["source"] == "memory"
    assert {k: (v["value"], v["reason"]) for k, v in answers["flags"].items()} == {
        "payments-v2": (True, "CACHED"), "new-checkout": (True, "CACHED")}


def test_fresh_process__answers_from_the_lkg_file_or_the_failure_mode(api, reader, flags):
    client = api(reader)
    client.get(SNAPSHOT, SHOP_PROD)  # writes the last-known-good file
    delivery.reset()  # what a process started after the last build has (the token stays verified)
    with database_down():
        snapshot = client.get(SNAPSHOT, SHOP_PROD)
        assert snapshot.status_code == 200 and snapshot["X-Flags-Source"] == "lkg-file"
        answers = _evaluate(client)
    assert answers["flags"]["new-checkout"]["reason"] == "STALE" and answers["flags"]["new-checkout"]["value"]
    closed = answers["flags"]["payments-v2"]
    assert (closed["value"], closed["reason"], closed["error_code"]) == (False, "ERROR", "GENERAL")


def test_no_layer_at_all__is_503_not_500(api, reader, flags):
    client = api(reader)
    client.get("/api/v1/flags/snapshot", {"service": "shop", "environment": "preview"})  # verifies the token
    delivery.reset()
    with database_down():
        response = client.get(SNAPSHOT, SHOP_PROD)
        assert response.status_code == 503
        assert response["Content-Type"] == "application/problem+json"
        assert "no flag data" in response.json()["detail"]


def test_unknown_token_during_the_outage__is_503(api, make_token, flags):
    secret = make_token("flags:read")
    with database_down():
        response = api(secret).get(SNAPSHOT, SHOP_PROD)
    assert response.status_code == 503 and "cannot verify" in response.json()["detail"]


def test_break_glass__takes_effect_at_once_and_is_recorded_when_the_database_returns(api, reader, flags,
                                                                                       capsys):
    client = api(reader)
    client.get(SNAPSHOT, SHOP_PROD)
    with database_down():
        call_command("flags_break_glass", "engage", "maintenance_mode", service="shop", environment="production",
                     reason="database down, INC-7")
        out = capsys.readouterr().out
        assert "IN EFFECT NOW" in out and "database is unreachable" in out
        snapshot = client.get(SNAPSHOT, SHOP_PROD)
        features = {f["name"]: f["enabled"] for f in snapshot.json()["features"]}
        assert features["maintenance_mode"] is True and snapshot["X-Flags-Break-Glass"] == "1"
        assert _evaluate(client)["flags"]["new-checkout"]["reason"] == "CACHED"
        state = client.post(EVALUATE, {**SHOP_PROD, "flags": ["maintenance_mode"]}, format="json").json()
        assert state["flags"]["maintenance_mode"]["value"] is True
    assert breakglass.entries()
    client.get(SNAPSHOT, SHOP_PROD)  # the first build with the database back replays the override
    assert not breakglass.entries()
    record = BreakGlassRecord.objects.get()
    assert (record.flag_key, record.action, record.reason) == ("maintenance_mode", "engage", "database down, INC-7")
    state = FlagState.objects.get(flag__service__slug="shop", flag__key="maintenance_mode",
                                  environment__slug="production")
    assert state.enabled and state.expires_at is not None  # maintenance defaults to 30 minutes
    history = state.history.latest()
    assert "break-glass engage" in history.history_change_reason and "database down, INC-7" in \
        history.history_change_reason
    assert history.history_user.username == "system"


def test_break_glass_with_the_database_up__is_written_at_once(flags, capsys, operator):
    call_command("flags_break_glass", "engage", "kill_switch_api", service="shop", environment="production",
                 reason="abuse", expires_in="2h", actor="olga")
    out = capsys.readouterr().out
    assert "recorded as revision" in out
    state = FlagState.objects.get(flag__service__slug="shop", flag__key="kill_switch_api",
                                  environment__slug="production")
    assert state.enabled and state.history.latest().history_user == operator
    assert not breakglass.entries()
    call_command("flags_break_glass", "disengage", "kill_switch_api", service="shop", environment="production",
                 reason="over")
    state.refresh_from_db()
    assert not state.enabled  # break glass skips the second person: the reason says it was break-glass


def test_unknown_targets__are_remembered_within_a_bound(db, monkeypatch):
    """A client asking for made-up services must not grow the process's memory without end."""
    from flags import delivery

    monkeypatch.setattr(delivery, "MAX_MISSING", 10)
    for i in range(25):
        with pytest.raises(delivery.UnknownTarget):
            delivery.get_snapshot(f"nope-{i}", "production")
    assert 0 < len(delivery._missing) <= 10
