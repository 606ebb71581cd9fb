"""`govctl slo check` against a real portal on 127.0.0.1: exit 1 on a breached SLO (the nightly CI check)."""

import json

import pytest
from govctl.cli import main

from observability import slo_math
from tests.observability.conftest import steady

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def env(monkeypatch, live_server, make_token):
    monkeypatch.setenv("GOVERNANCE_URL", live_server.url)
    monkeypatch.setenv("GOVERNANCE_TOKEN", make_token("checks:write", name="shop CI"))


def test_breached_slo__exits_1_and_names_it(env, service, production, write_points, now, capsys):
    # A week of traffic with 0.2% errors: twice what the default 99.9% success objective allows.
    write_points(service, production, steady(slo_math.window_end(now), 7 * 24 * 60, total=500, errors=1))

    assert main(["slo", "check", "--service", "shop", "--environment", "production"]) == 1

    out = capsys.readouterr().out
    assert "api-success" in out and "breached: " in out and "api-success" in out.split("breached: ")[1]


def test_healthy_slos__exit_0(env, service, production, write_points, now, capsys):
    write_points(service, production, steady(slo_math.window_end(now), 7 * 24 * 60, total=500))

    assert main(["slo", "check", "--service", "shop", "--json"]) == 0

    answer = json.loads(capsys.readouterr().out)
    assert answer["breached"] == [] and answer["environment"] == "production"
    assert {s["slo"] for s in answer["slos"]} >= {"api-success"}


def test_unknown_service__a_clear_error_never_a_pass(env, db, capsys):
    assert main(["slo", "check", "--service", "nope"]) == 1  # the nightly run fails, saying why
    assert "request failed (404): No service 'nope'." in capsys.readouterr().err


def test_an_slo_leaving_maintenance_out__says_how_many_minutes(env, service, production, bad_hour_in_a_window,
                                                               system_user, capsys):
    from datetime import timedelta

    from observability import services
    from tests.observability.conftest import declare_maintenance, slo_named

    start, _ = bad_hour_in_a_window
    declare_maintenance(service, system_user, start, start + timedelta(hours=1), created_at=start - timedelta(days=2))
    services.update_slo(slo=slo_named(service, production, "api-success"), exclude_maintenance=True,
                        actor=system_user, reason="announced upgrades")

    # Per SLO: the availability SLO still counts the hour (60 bad slices against a budget of 5) and is breached.
    assert main(["slo", "check", "--service", "shop"]) == 1

    lines = capsys.readouterr().out.splitlines()
    success = next(line for line in lines if "api-success:" in line)
    assert success.endswith(": met (declared maintenance left out: 60 min)")
    assert next(line for line in lines if "availability:" in line).endswith(": breached")
    assert lines[-1] == "breached: availability"
