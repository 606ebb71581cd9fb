"""govctl flags list|set|kill|unkill|maintenance against a live portal on 127.0.0.1 (transactional tests)."""

import json

import pytest
from govctl.cli import main

from flags.models import ChangeRequest, FlagState

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def govctl(monkeypatch, live_server, make_token, service, operator, capsys):
    monkeypatch.setenv("GOVERNANCE_URL", live_server.url)
    monkeypatch.setenv("GOVERNANCE_TOKEN", make_token("flags:read", "flags:write", owner=operator, name="pager"))

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def flag(make_flag):
    return make_flag("new-checkout")


def state(key, environment):
    return FlagState.objects.get(flag__service__slug="shop", flag__key=key, environment__slug=environment)


TARGET = ["--service", "shop", "--environment"]


def test_list__prints_one_line_per_flag_and_environment(govctl, flag):
    code, out, _ = govctl("flags", "list", "--service", "shop", "--environment", "production")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["FLAG", "ENVIRONMENT", "KIND", "STATE", "REVISION", "EXPIRES",
                                              "PENDING"]
    multiplier = next(line for line in lines if line.startswith("rate_limit_multiplier"))
    assert multiplier.split()[:5] == ["rate_limit_multiplier", "production", "operational", "1",
                                      str(state("rate_limit_multiplier", "production").revision)]
    code, out, _ = govctl("flags", "list", "--service", "shop", "--json")
    assert code == 0 and len(json.loads(out)["flags"]) == 5 * 3


def test_list_of_an_unknown_service__exits_1_with_the_portals_reason(govctl, flag):
    code, out, err = govctl("flags", "list", "--service", "nope")
    assert (code, out) == (1, "")
    assert "cannot list the flags of nope: request failed (404): No service 'nope'." in err


def test_set_enable_where_it_applies__exits_0_and_prints_the_revision(govctl, flag):
    code, out, err = govctl("flags", "set", *TARGET, "preview", "--flag", "new-checkout", "--operation", "enable",
                            "--reason", "deployed 1.4.2")
    after = state("new-checkout", "preview")
    assert (code, out) == (0, f"{after.revision}\n")
    assert after.enabled and "applied: shop/new-checkout in preview is on" in err
    assert after.history.latest().history_change_reason == "api (pager): deployed 1.4.2"


def test_set_enable_in_production__exits_5_pending_approval_with_the_request(govctl, flag):
    code, out, err = govctl("flags", "set", *TARGET, "production", "--flag", "new-checkout", "--operation",
                            "enable", "--reason", "launch", "--json")
    request_ = ChangeRequest.objects.get()
    body = json.loads(out)
    assert code == 5 and body["change_request"]["id"] == request_.pk
    assert f"pending approval: change request #{request_.pk}" in err and "other than olga" in err
    assert not state("new-checkout", "production").enabled


def test_set_strategies_from_a_payload_file(govctl, flag, tmp_path):
    payload = tmp_path / "rollout.json"
    payload.write_text(json.dumps({"strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "25"}}]}))
    code, _, _ = govctl("flags", "set", *TARGET, "development", "--flag", "new-checkout", "--operation",
                        "set_strategies", "--payload", f"@{payload}", "--reason", "25% in dev")
    assert code == 0
    assert state("new-checkout", "development").strategies[0]["parameters"]["rollout"] == "25"


def test_set_number_out_of_bounds__exits_1_with_the_services_message(govctl, flag):
    code, _, err = govctl("flags", "set", *TARGET, "production", "--flag", "rate_limit_multiplier", "--operation",
                          "set_number", "--payload", '{"number": 50}', "--reason", "more")
    assert code == 1
    assert "request failed (400)" in err and "rate_limit_multiplier must be at most 10 (got 50)." in err


def test_stale_expected_revision__exits_1_naming_the_current_revision(govctl, flag):
    seen = state("new-checkout", "development").revision
    assert govctl("flags", "set", *TARGET, "development", "--flag", "new-checkout", "--operation", "enable",
                  "--reason", "first")[0] == 0
    current = state("new-checkout", "development").revision
    code, _, err = govctl("flags", "set", *TARGET, "development", "--flag", "new-checkout", "--operation",
                          "disable", "--reason", "second", "--expected-revision", str(seen))
    assert code == 1 and "request failed (409)" in err and f"revision {seen} → {current}" in err
    assert state("new-checkout", "development").enabled


def test_bad_payload__is_a_usage_error_before_calling_the_portal(govctl, flag):
    code, _, err = govctl("flags", "set", *TARGET, "development", "--flag", "new-checkout", "--operation",
                          "set_number", "--payload", "{number: 1}", "--reason", "x")
    assert code == 2 and "--payload is not valid JSON" in err


def test_kill_and_unkill__apply_with_an_expiry(govctl, service):
    code, _, err = govctl("flags", "kill", *TARGET, "production", "--flag", "kill_switch_api", "--reason",
                          "INC-7 abuse", "--expires-in", "2h")
    engaged = state("kill_switch_api", "production")
    assert code == 0 and engaged.enabled and engaged.expires_at is not None and "reverts at" in err
    code, out, err = govctl("flags", "unkill", *TARGET, "production", "--flag", "kill_switch_api", "--reason",
                            "INC-7 over")
    assert code == 5 and ChangeRequest.objects.get().pk == int(out)  # disengaging widens exposure in production
    assert govctl("flags", "unkill", *TARGET, "development", "--flag", "kill_switch_api", "--reason", "x")[0] == 0


def test_maintenance_on_and_off(govctl, service):
    code, _, _ = govctl("flags", "maintenance", "on", *TARGET, "preview", "--reason", "DB upgrade",
                        "--expires-in", "45m")
    assert code == 0 and state("maintenance_mode", "preview").enabled
    code, _, _ = govctl("flags", "maintenance", "off", *TARGET, "preview", "--reason", "done")
    assert code == 0 and not state("maintenance_mode", "preview").enabled


def test_token_without_flags_write__exits_4(govctl, monkeypatch, make_token, service):
    monkeypatch.setenv("GOVERNANCE_TOKEN", make_token("flags:read"))
    code, _, err = govctl("flags", "kill", *TARGET, "production", "--flag", "kill_switch_api", "--reason", "x")
    assert code == 4 and "lacks the 'flags:write' scope" in err
    assert not state("kill_switch_api", "production").enabled
