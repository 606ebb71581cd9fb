"""`govctl release plan --from-git A..B`: the plan from a git range and a policy file, without a portal, equal to
what `semver next` answers for the same commits (one planning module)."""

import json

from govctl.cli import main

from tests.releases.gitrepo import git as _git


def _commit(repo, env, message, path=None):
    if path:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(message)
        _git(repo, "add", path, env=env)
        _git(repo, "commit", "-q", "-m", message, env=env)
    else:
        _git(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)


def test_from_git__no_portal_needed_and_same_as_semver_next(git_repo, capsys, monkeypatch, tmp_path):
    repo, env = git_repo
    monkeypatch.delenv("GOVCTL_URL", raising=False)
    _commit(repo, env, "chore: init")
    _git(repo, "tag", "v1.2.0", env=env)
    _commit(repo, env, "fix(db): retry\n\nThe pool was exhausted.\nFixes #12")
    _commit(repo, env, "feat: export")
    monkeypatch.chdir(repo)

    code = main(["release", "plan", "--from-git", "v1.2.0..HEAD", "--json", "--changelog-out", str(tmp_path / "c.md")])
    plan = json.loads(capsys.readouterr().out)
    log = _git(repo, "log", "-z", "--format=%H%n%B", "v1.2.0..HEAD", env=env).stdout
    (tmp_path / "log").write_text(log)
    main(["semver", "next", "--current", "1.2.0", "--messages-file", str(tmp_path / "log"), "--json"])
    semver_next = json.loads(capsys.readouterr().out)

    assert code == 0 and plan["next_version"] == "1.3.0" and plan["complete"] is True
    assert plan["explanation"] == semver_next["explanation"]
    assert "### Features" in (tmp_path / "c.md").read_text() and "retry" in plan["changelog"]


def test_from_git_with_path_policy__only_the_package_counts(git_repo, capsys, monkeypatch, tmp_path):
    repo, env = git_repo
    _commit(repo, env, "chore: init", "README.md")
    _git(repo, "tag", "v0.4.0", env=env)
    _commit(repo, env, "feat: cli flag", "packages/cli/main.py")
    _commit(repo, env, "fix: core crash", "packages/core/run.py")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"paths": ["packages/core"]}))
    monkeypatch.chdir(repo)

    code = main(["release", "plan", "--from-git", "v0.4.0..HEAD", "--policy", str(policy)])

    out, err = capsys.readouterr()
    assert (code, out) == (0, "0.4.1\n")
    assert "touches none of packages/core: not counted" in err


def test_from_git_range_without_version_tag__asks_for_current(git_repo, capsys, monkeypatch):
    repo, env = git_repo
    _commit(repo, env, "feat: a")
    _commit(repo, env, "feat: b")
    monkeypatch.chdir(repo)

    code = main(["release", "plan", "--from-git", "HEAD~1..HEAD"])

    assert code == 2 and "is not a version tag; give --current" in capsys.readouterr().err
    assert main(["release", "plan", "--from-git", "HEAD~1..HEAD", "--current", "2.0.0"]) == 0
    assert capsys.readouterr().out == "2.1.0\n"
