import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from govctl.cli import main

from tests.releases.gitrepo import git as _git

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def run(argv, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_lint_valid_message_file__exit_0_silent(tmp_path, capsys):
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("feat(api): add export\n\nBody.\n\nRefs: #12\n")

    assert run(["commits", "lint", "--message-file", str(message)], capsys) == (0, "", "")


def test_lint_invalid_message_file__exit_1_with_position_and_caret(tmp_path, capsys):
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("feat(api) add export\n")

    code, _, err = run(["commits", "lint", "--message-file", str(message)], capsys)

    assert code == 1
    assert f"{message}:1:10: expected ':' after the type, found ' '" in err
    assert "    feat(api) add export\n             ^" in err


def test_lint_stdin__read_when_no_file(capsys, monkeypatch):
    code, _, err = run(["commits", "lint"], capsys, stdin="fix: ok\nbody without blank line\n", monkeypatch=monkeypatch)

    assert code == 1
    assert "<stdin>:2:1: the header must be followed by a blank line" in err


def test_lint_git_comments__stripped_and_lines_reported_in_file_numbering(tmp_path, capsys):
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("# template line\n# another\nfix: x\n\nbody\nbreaking change: y\n# Please enter the message\n")

    code, _, err = run(["commits", "lint", "--message-file", str(message)], capsys)

    assert code == 1
    assert f"{message}:6:1: 'breaking change' must be upper case" in err


def test_lint_comment_only_lines__do_not_count_as_body(tmp_path, capsys):
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("fix: x\n# Please enter the commit message for your changes.\n#\n# On branch main\n")

    assert run(["commits", "lint", "--message-file", str(message)], capsys)[0] == 0


def test_lint_missing_file__exit_2(tmp_path, capsys):
    code, _, err = run(["commits", "lint", "--message-file", str(tmp_path / "nope")], capsys)

    assert code == 2 and "cannot read" in err


@pytest.mark.parametrize("version", ["1.0.0", "1.0.0-rc.1+build.5"])
def test_semver_validate_valid__exit_0(version, capsys):
    assert run(["semver", "validate", version], capsys) == (0, version + "\n", "")


def test_semver_validate_invalid__exit_2_with_reason(capsys):
    code, out, err = run(["semver", "validate", "1.02.0"], capsys)

    assert (code, out) == (2, "")
    assert "minor version '02' has a leading zero" in err


@pytest.mark.parametrize(
    "a, b, expected",
    [("1.0.0-rc.1", "1.0.0", "-1"), ("1.0.0+a", "1.0.0+b", "0"), ("1.0.0-beta.11", "1.0.0-beta.2", "1")],
)
def test_semver_compare__prints_sign(a, b, expected, capsys):
    assert run(["semver", "compare", a, b], capsys) == (0, expected + "\n", "")


def test_semver_compare_invalid__exit_2_names_the_version(capsys):
    code, out, err = run(["semver", "compare", "1.0.0", "v2.0.0"], capsys)

    assert (code, out) == (2, "")
    assert "'v2.0.0'" in err and "'v' prefix" in err


def test_semver_next_json_file__prints_version_and_explains(tmp_path, capsys):
    commits = tmp_path / "commits.json"
    commits.write_text(
        json.dumps(
            [
                {"sha": "a" * 40, "message": "feat: x (#4)"},
                {"sha": "b" * 40, "message": "not conventional", "pr_url": "https://github.com/acme/shop/pull/5"},
            ]
        )
    )
    changelog = tmp_path / "CHANGELOG-section.md"

    code, out, err = run(
        ["semver", "next", "--current", "1.3.2", "--messages-file", str(commits), "--channel", "rc"]
        + ["--changelog", str(changelog), "--repo-url", "https://github.com/acme/shop"],
        capsys,
    )

    assert (code, out) == (0, "1.4.0-rc.1\n")
    assert "type 'feat' → minor" in err and "rejected commit bbbbbbbbbbbb 'not conventional'" in err
    assert "([#4](https://github.com/acme/shop/pull/4))" in changelog.read_text()


def test_semver_next_strict_with_invalid_commit__exit_1(tmp_path, capsys):
    commits = tmp_path / "commits.json"
    commits.write_text(json.dumps([{"sha": "b" * 40, "message": "oops"}]))

    code, _, err = run(["semver", "next", "--current", "1.0.0", "--messages-file", str(commits), "--strict"], capsys)

    assert code == 1 and "1 commit(s) are not Conventional Commits" in err


def test_semver_next_nothing_to_release__empty_output(tmp_path, capsys):
    commits = tmp_path / "commits.json"
    commits.write_text(json.dumps([{"sha": "c" * 40, "message": "docs: typo"}]))

    code, out, _ = run(["semver", "next", "--current", "1.0.0", "--messages-file", str(commits)], capsys)

    assert (code, out) == (0, "")


def test_semver_next_bad_policy__exit_2(tmp_path, capsys):
    policy = tmp_path / "policy.json"
    policy.write_text('{"breaking": "enormous"}')

    code, _, err = run(
        ["semver", "next", "--current", "1.0.0", "--policy", str(policy), "--messages-file", str(policy)], capsys
    )

    assert code == 2 and "breaking must be one of" in err


def _documented_hook_command() -> str:
    docs = (PROJECT_ROOT / "docs" / "COMMITS.md").read_text(encoding="utf-8")
    return next(line for line in docs.splitlines() if line.startswith("printf '#!/bin/sh"))


def test_documented_commit_msg_hook__blocks_invalid_and_accepts_valid(git_repo):
    repo, env = git_repo
    subprocess.run(["sh", "-c", _documented_hook_command()], cwd=repo, env=env, check=True)

    rejected = _git(repo, "commit", "-q", "--allow-empty", "-m", "Add export", env=env, check=False)
    accepted = _git(repo, "commit", "-q", "--allow-empty", "-m", "feat(export): add CSV export", env=env, check=False)

    assert rejected.returncode != 0
    assert ".git/COMMIT_EDITMSG:1:4: expected ':' after the type" in rejected.stderr
    assert accepted.returncode == 0, accepted.stderr
    log = _git(repo, "log", "--format=%s", env=env).stdout
    assert log == "feat(export): add CSV export\n"


def test_semver_next_from_git_log__counts_real_commits(git_repo, capsys, monkeypatch):
    repo, env = git_repo
    for message in ["chore: init", "fix(db): retry", "feat(api)!: new auth\n\nBREAKING CHANGE: v1 tokens rejected"]:
        _git(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)
    log = _git(repo, "log", "-z", "--format=%H%n%B", env=env).stdout

    code, out, err = run(["semver", "next", "--current", "1.2.0"], capsys, stdin=log, monkeypatch=monkeypatch)

    assert (code, out) == (0, "2.0.0\n")
    assert "'feat(api)!: new auth': breaking change ('!' in the header) → major" in err
