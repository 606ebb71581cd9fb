"""`govctl flags evaluate` evaluates offline against a snapshot file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from govctl.cli import main

SNAPSHOT = {
    "version": 1,
    "features": [
        {
            "name": "checkout",
            "enabled": True,
            "strategies": [{"name": "userWithId", "parameters": {"userIds": "42"}}],
            "variants": [{"name": "blue", "weight": 1000, "payload": {"type": "string", "value": "b"}}],
        },
        {"name": "Hellø-🌍", "enabled": True, "strategies": []},
    ],
    "segments": [],
}


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(SNAPSHOT), encoding="utf-8")
    return path


def test_targeted_user__prints_enabled_variant_and_reason(snapshot_file: Path, capsys) -> None:
    code = main(
        ["flags", "evaluate", "--state", str(snapshot_file), "--flag", "checkout", "--context", '{"userId": "42"}']
    )

    assert code == 0
    assert json.loads(capsys.readouterr().out) == {
        "enabled": True,
        "variant": {
            "name": "blue",
            "enabled": True,
            "feature_enabled": True,
            "payload": {"type": "string", "value": "b"},
        },
        "reason": "TARGETING_MATCH",
    }


def test_other_user__prints_disabled_variant(snapshot_file: Path, capsys) -> None:
    main(["flags", "evaluate", "--state", str(snapshot_file), "--flag", "checkout", "--context", '{"userId": "7"}'])

    output = json.loads(capsys.readouterr().out)
    assert output["enabled"] is False
    assert output["variant"] == {"name": "disabled", "enabled": False, "feature_enabled": False, "payload": None}
    assert output["reason"] == "DEFAULT"


def test_utf8_flag_name_from_the_shell__is_found(snapshot_file: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "govctl.cli", "flags", "evaluate", "--state", str(snapshot_file), "--flag", "Hellø-🌍"],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["reason"] == "STATIC"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--state", "/nonexistent/snapshot.json", "--flag", "checkout"], "snapshot file not found"),
        (["--flag", "nope"], "unknown flag 'nope'"),
        (["--flag", "checkout", "--context", "{userId: 42}"], "--context is not valid JSON"),
        (["--flag", "checkout", "--context", "[1, 2]"], "--context must be a JSON object"),
    ],
)
def test_bad_input__exits_2_with_a_clear_message(snapshot_file: Path, capsys, args: list[str], message: str) -> None:
    if "--state" not in args:
        args = ["--state", str(snapshot_file), *args]

    code = main(["flags", "evaluate", *args])

    assert code == 2
    assert message in capsys.readouterr().err


def test_invalid_snapshot_json__exits_2(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"features": [', encoding="utf-8")

    assert main(["flags", "evaluate", "--state", str(broken), "--flag", "x"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
