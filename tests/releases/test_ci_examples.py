"""The example CI workflows in docs/ci stay true: valid YAML, and every govctl call parses with today's CLI."""

import re
import shlex
from pathlib import Path

import pytest
import yaml
from govctl.cli import build_parser

CI = Path(__file__).resolve().parents[2] / "docs" / "ci"
WORKFLOWS = sorted(CI.glob("*.yml"))


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
                            token = ("success" if "check" in argv else "succeeded") if after_status else "1"
                        argv.append(token)
                    calls.append(argv[1:])
    return calls


def test_examples__exist():
    assert {p.name for p in WORKFLOWS} >= {"release-pr.yml", "promote.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_govctl_call__parses(workflow):
    calls = _govctl_calls(workflow)
    assert calls, "the workflow calls govctl"
    parser = build_parser()
    for argv in calls:
        args = parser.parse_args(argv)  # exits (fails the test) on an unknown command or option
        assert args.func is not None, argv


def test_promote_workflow__reports_checks_waits_on_the_gate_and_records_deployments():
    commands = {" ".join(argv[:2]) for argv in _govctl_calls(CI / "promote.yml")}
    assert commands >= {"release create", "check report", "deploy record", "gate wait"}
