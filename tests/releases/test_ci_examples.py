"""The CI workflows in docs/ci stay true: actionlint passes on each, and every govctl call parses with today's CLI."""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from govctl.cli import COMMAND_MODULES, build_parser

CI = Path(__file__).resolve().parents[2] / "docs" / "ci"
WORKFLOWS = sorted(CI.glob("*.yml"))
CHOICES = {"--kind": "restore"}  # a shell variable after an option with choices: one of them
PROMISED = {"release-pr.yml", "promote.yml", "dr-drill.yml", "slo-check.yml", "chaos-check.yml"}

def _govctl_calls(workflow: Path) -> list[list[str]]:
    calls = []
    for job in yaml.safe_load(workflow.read_text())["jobs"].values():
        for step in job["steps"]:
            script = step.get("run", "").replace("\\\n", " ")
            for line in script.splitlines():
                for match in re.finditer(r'(?<![\w"/-])govctl (?!@).*', line):
                    text = re.sub(r"\$\{\{[^}]*\}\}", "1", match.group(0))  # GitHub expressions
                    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
                    lexer.whitespace_split = True
                    argv: list[str] = []
                    for token in lexer:
                        if set(token) <= set("|;&()<>"):
                            break  # the end of the command: a pipe, a redirection or the closing $(...)
                        if token.startswith("$"):  # a shell variable: a value the option accepts
                            after_status = argv[-1:] == ["--status"]
                            token = ("success" if "check" in argv else "succeeded") if after_status else \
                                CHOICES.get(argv[-1], "1") if argv else "1"
                        argv.append(token)
                    calls.append(argv[1:])
    return calls


def test_examples__exist():
    assert {p.name for p in WORKFLOWS} >= PROMISED


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_govctl_call__parses(workflow):
    calls = _govctl_calls(workflow)
    assert calls, "the workflow calls govctl"
    parser = build_parser()
    for argv in calls:
        assert argv[0] in COMMAND_MODULES, f"govctl has no command {argv[0]!r}: {argv}"
        args = parser.parse_args(argv)  # exits (fails the test) on an unknown option
        assert args.func is not None, argv


def _actionlint() -> str:
    """The actionlint binary a dev requirement installs next to this Python (or on PATH)."""
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.exists() else shutil.which("actionlint")
    assert found, "actionlint is missing: pip install -r requirements-dev.txt"
    return found


def test_actionlint__passes_on_every_workflow():
    result = subprocess.run([_actionlint(), "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint__is_really_checking(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.no_such_property }}\n")
    result = subprocess.run([_actionlint(), "-no-color", str(broken)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 1 and "no_such_property" in result.stdout


def test_new_workflows__call_govctl_as_promised():
    def commands(name: str) -> set[str]:
        return {" ".join(argv[:2]) for argv in _govctl_calls(CI / name)}

    assert commands("release-pr.yml") >= {"commits lint", "release plan", "migrations lint", "sbom --requirements",
                                          "release create", "check report"}
    assert commands("dr-drill.yml") >= {"drill run"}
    assert commands("slo-check.yml") == {"slo check"}
    assert commands("chaos-check.yml") == {"chaos run"}
    triggers = {name: yaml.safe_load((CI / name).read_text())[True] for name in PROMISED}  # YAML 1.1: on → True
    assert triggers["dr-drill.yml"]["schedule"][0]["cron"].split()[2:4] == ["1", "*"]  # monthly
    assert "workflow_dispatch" in triggers["dr-drill.yml"]
    assert len(triggers["slo-check.yml"]["schedule"][0]["cron"].split()) == 5
    assert "labeled" in triggers["chaos-check.yml"]["pull_request"]["types"]
    chaos_job = yaml.safe_load((CI / "chaos-check.yml").read_text())["jobs"]["chaos"]
    assert "'chaos'" in chaos_job["if"]


def test_promote_workflow__reports_checks_waits_on_the_gate_and_records_deployments():
    commands = {" ".join(argv[:2]) for argv in _govctl_calls(CI / "promote.yml")}
    assert commands >= {"release create", "check report", "deploy record", "gate wait"}
