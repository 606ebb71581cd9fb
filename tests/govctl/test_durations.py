"""govctl refuses a wait it could never finish (nan, inf, negative durations) before it calls the portal."""

from __future__ import annotations

import pytest
from govctl.cli import main


@pytest.mark.parametrize("option, value", [("--timeout", "nan"), ("--interval", "nan"), ("--interval", "inf"),
                                           ("--timeout", "-5")])
def test_drill_run__refuses_a_duration_that_is_no_duration(monkeypatch, capsys, option, value):
    monkeypatch.setenv("GOVERNANCE_URL", "http://portal.invalid")
    monkeypatch.setenv("GOVERNANCE_TOKEN", "gov_x_y")
    with pytest.raises(SystemExit) as exit_:
        main(["drill", "run", "--target", "shop-db", "--reason", "monthly", "--wait", option, value])
    assert exit_.value.code == 2
    assert "is not a duration" in capsys.readouterr().err


def test_drill_run__takes_durations_with_units_like_gate_wait(monkeypatch, capsys):
    monkeypatch.delenv("GOVERNANCE_URL", raising=False)
    # parsed fine, then stopped by the missing configuration (exit 2 with its own message)
    assert main(["drill", "run", "--target", "shop-db", "--reason", "monthly", "--timeout", "2h",
                 "--interval", "500ms"]) == 2
    assert "GOVERNANCE_URL is not set" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["drill", "flags"])
def test_a_command_without_its_subcommand__is_a_usage_error(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        main([command])
    assert exit_.value.code == 2
    assert "SUBCOMMAND" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_backfill_status__refuses_an_interval_that_is_no_duration(monkeypatch, capsys, value):
    monkeypatch.setenv("GOVERNANCE_URL", "http://portal.invalid")
    monkeypatch.setenv("GOVERNANCE_TOKEN", "gov_x_y")
    with pytest.raises(SystemExit) as exit_:
        main(["backfill", "status", "7", "--watch", "--interval", value])
    assert exit_.value.code == 2
    assert "is not a duration" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["gate", "wait", "--release", "1", "--environment", "production", "--timeout", "30"],
        ["flags", "kill", "--service", "shop", "--environment", "production", "--flag", "k", "--reason", "x",
         "--expires-in", "30"],
        ["backfill", "status", "1", "--watch", "--interval", "5"],
    ],
    ids=["gate-timeout", "flags-expires-in", "backfill-interval"],
)
def test_bare_number_duration__refused_everywhere_with_the_same_message(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)

    assert exit_.value.code == 2
    assert "'30' is not a duration: give a unit" in capsys.readouterr().err.replace("'5'", "'30'")


@pytest.mark.parametrize(("text", "seconds"), [("500ms", 0.5), ("90s", 90), ("15m", 900), ("2h", 7200),
                                               ("1d", 86400), ("1.5 min", 90)])
def test_duration_with_unit__same_seconds_for_every_option(text, seconds):
    from govctl.durations import parse_seconds

    assert parse_seconds(text) == seconds


@pytest.mark.parametrize(("text", "ok"), [("45m", 45), ("2h", 120), ("1d", 1440), ("90s", None), ("0m", None)])
def test_expiry_in_minutes__whole_positive_minutes_only(text, ok):
    import argparse

    from govctl.durations import parse_minutes

    if ok is None:
        with pytest.raises(argparse.ArgumentTypeError, match="whole number of minutes"):
            parse_minutes(text)
    else:
        assert parse_minutes(text) == ok
