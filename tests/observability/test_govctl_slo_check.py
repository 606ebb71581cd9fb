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
