"""`govctl drill` against a live portal (django-q2 sync mode: the drill runs when its request commits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from govctl.cli import main

from recovery import services
from recovery.models import Drill

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True),
              pytest.mark.usefixtures("no_leftover_rec2_shadows")]


@pytest.fixture
def govctl_env(monkeypatch, live_server, make_token):
    monkeypatch.setenv("GOVERNANCE_URL", live_server.url)
    monkeypatch.setenv("GOVERNANCE_TOKEN", make_token("drills:run", name="shop CI"))


def test_drill_run_wait__prints_progress_and_exits_0_when_it_passes(govctl_env, target, system_user, capsys):
    services.take_backup(target=target, actor=system_user, reason="nightly")

    code = main(["drill", "run", "--target", "shop-db", "--reason", "release 3.0 gate", "--wait",
                 "--timeout", "300s", "--interval", "0.2s"])

    out, err = capsys.readouterr()
    assert code == 0, out + err
    drill = Drill.objects.get()
    assert (drill.status, drill.reason) == ("passed", "api (shop CI): release 3.0 gate")
    assert f"drill #{drill.pk}: restore drill of shop-db queued" in err
    assert f"drill #{drill.pk}: passed" in err
    assert f"drill #{drill.pk}: restore drill of shop-db PASSED" in out
    assert "checksums" in out and "failing verdicts" not in out


def test_drill_run_wait_on_a_damaged_backup__exits_1_printing_the_failing_verdict(govctl_env, target, system_user,
                                                                                  capsys):
    backup = services.take_backup(target=target, actor=system_user, reason="nightly")
    data = bytearray(Path(backup.path).read_bytes())
    data[-100] ^= 0xFF
    Path(backup.path).write_bytes(bytes(data))

    code = main(["drill", "run", "--target", "shop-db", "--reason", "monthly", "--wait", "--interval", "0.2s"])

    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED" in out and "failing verdicts:" in out
    assert f"integrity: backup file {Path(backup.path).name} is damaged" in out
    assert backup.path in out  # the problem lines name the file


def test_drill_show__summarises_json_and_report(govctl_env, target, system_user, capsys):
    services.take_backup(target=target, actor=system_user, reason="nightly")
    assert main(["drill", "run", "--target", "shop-db", "--reason", "check"]) == 0
    started = json.loads(capsys.readouterr().out)

    assert main(["drill", "show", str(started["id"])]) == 0
    assert f"drill #{started['id']}: restore drill of shop-db PASSED" in capsys.readouterr().out
    assert main(["drill", "show", str(started["id"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "passed"
    assert main(["drill", "show", str(started["id"]), "--report"]) == 0
    assert capsys.readouterr().out.startswith("# Restore drill PASSED")


def test_drill_run_for_an_unknown_target__is_a_clear_error(govctl_env, target, capsys):
    assert main(["drill", "run", "--target", "nope", "--reason", "x"]) == 1
    assert "Unknown backup target 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--interval", "0s"], ["--timeout", "0s"]])
def test_drill_run_with_a_zero_wait_option__is_a_usage_error(option, capsys):
    """nan, inf and negatives are refused by argparse (tests/govctl/test_durations.py); zero parses."""
    assert main(["drill", "run", "--target", "shop-db", "--reason", "x", "--wait", *option]) == 2
    assert "--timeout and --interval must be positive numbers of seconds" in capsys.readouterr().err


def test_pitr_summary__names_the_self_test_not_the_target_as_proven():
    from govctl.commands.drill import summary

    text = summary({
        "id": 9, "kind": "pitr", "target": "portal-db", "status": "passed", "total_seconds": 12.5,
        "objective": "rpo", "objective_seconds": 300, "verdicts": [], "report_url": "/api/v1/drills/9/report.md",
        "scope": "PITR mechanism self-test in throwaway clusters (not portal-db's backups or WAL)",
        "proves": "that this portal's base backup + WAL replay to a target time works, on a database the drill "
                  "creates and throws away; it says nothing about portal-db's own backups or WAL archive",
    })

    first, second = text.splitlines()[:2]
    assert first.startswith("drill #9: PITR mechanism self-test in throwaway clusters (not portal-db's backups or WAL)"
                            " PASSED")
    assert "pitr drill of portal-db PASSED" not in text
    assert second.startswith("a pass proves") and "says nothing about portal-db's own backups" in second
