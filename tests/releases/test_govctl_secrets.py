"""`govctl secrets scan` on real git repositories, reporting the secret-scan check to a live portal: findings
name file, line, type and the SHA-1 of the secret; the secret's text is nowhere (output, request, database)."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from govctl import api
from govctl.cli import main

from releases.models import Check
from tests.releases.gitrepo import git
from tests.releases.stored_text import tables_holding as _tables_holding

GITHUB = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"  # made up; assembled so this file holds none whole
AWS = "AKIA" + "Z7QW3RTY5UIO9PLK"
SHA1 = {secret: hashlib.sha1(secret.encode()).hexdigest()  # noqa: S324 - detect-secrets' own hash
        for secret in (GITHUB, AWS, "ghp")}
# detect-secrets' GitHub detector extracts only the token's prefix ("ghp") as the secret (its regex captures the
# prefix group), so its hash is sha1("ghp"); the high-entropy detector hashes the whole token. Both are reported.
SETTINGS_FINDINGS = [
    {"file": "app/settings.py", "line": 3, "type": "Base64 High Entropy String", "hashed_secret": SHA1[GITHUB]},
    {"file": "app/settings.py", "line": 3, "type": "GitHub Token", "hashed_secret": SHA1["ghp"]},
]


def _commit(repo, env, files: dict[str, str | None], message: str) -> str:
    for name, text in files.items():
        path = repo / name
        if text is None:
            git(repo, "rm", "-q", name, env=env)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        git(repo, "add", name, env=env)
    git(repo, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD", env=env).stdout.strip()


@pytest.fixture
def repo(git_repo, monkeypatch):
    """main: a clean app; branch `change`: adds a settings file with a token on line 3."""
    path, env = git_repo
    monkeypatch.setenv("HOME", env["HOME"])
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    _commit(path, env, {"app/main.py": "print('hello')\n", "README.md": "# shop\n"}, "feat: app")
    git(path, "checkout", "-q", "-b", "change", env=env)
    _commit(path, env, {"app/settings.py": f"DEBUG = False\nREGION = 'eu'\nGITHUB_TOKEN = '{GITHUB}'\n"},
            "feat: settings")
    return path, env


@pytest.fixture
def run(capsys):
    def go(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return go


def test_change_against_base__reports_file_line_type_and_hash_never_the_secret(repo, run):
    path, _ = repo
    code, out, err = run("secrets", "scan", "--repo", str(path), "--base", "main", "--json")
    assert code == 1
    assert json.loads(out) == {"files_scanned": 1, "findings": SETTINGS_FINDINGS}
    assert GITHUB not in out + err and "1 files, 2 findings" in err


def test_clean_change__exits_0(repo, run):
    path, env = repo
    git(path, "checkout", "-q", "main", env=env)
    _commit(path, env, {"app/main.py": "print('hello, world')\n"}, "fix: greeting")
    code, out, err = run("secrets", "scan", "--repo", str(path), "--base", "main~1")
    assert (code, out) == (0, "") and "0 findings" in err


def test_given_paths__are_scanned_instead_of_the_change(repo, run):
    path, _ = repo
    (path / "notes.txt").write_text(f"aws key: {AWS}\n")
    code, out, _ = run("secrets", "scan", "--repo", str(path), str(path / "notes.txt"), str(path / "app"))
    assert code == 1
    assert out.splitlines() == [f"app/settings.py:3: Base64 High Entropy String [sha1 {SHA1[GITHUB]}]",
                                f"app/settings.py:3: GitHub Token [sha1 {SHA1['ghp']}]",
                                f"notes.txt:1: AWS Access Key [sha1 {SHA1[AWS]}]"]


def test_history__finds_a_secret_removed_since_with_its_commit(repo, run):
    path, env = repo
    added = _commit(path, env, {"deploy.sh": f"#!/bin/sh\n\nexport AWS_KEY={AWS}\n"}, "chore: deploy script")
    _commit(path, env, {"deploy.sh": None, "app/settings.py": "DEBUG = False\n"}, "fix: remove secrets")
    assert run("secrets", "scan", "--repo", str(path), "--base", "main")[0] == 0  # the files are clean now
    code, out, err = run("secrets", "scan", "--repo", str(path), "--base", "main", "--history", "--json")
    assert code == 1
    found = json.loads(out)["findings"]
    assert {"file": "deploy.sh", "line": 3, "type": "AWS Access Key", "hashed_secret": SHA1[AWS],
            "commit": added} in found
    assert any(f["file"] == "app/settings.py" and f["line"] == 3 and f["type"] == "GitHub Token" for f in found)
    assert AWS not in out + err and GITHUB not in out + err


def test_baseline__known_findings_are_not_reported_new_ones_are(repo, run):
    path, env = repo
    baseline = subprocess.run([str(Path(sys.executable).parent / "detect-secrets"), "scan"], cwd=path,
                              capture_output=True, text=True, check=True, env=env).stdout
    (path / ".secrets.baseline").write_text(baseline)
    argv = ["secrets", "scan", "--repo", str(path), "--base", "main", "--baseline", str(path / ".secrets.baseline")]
    assert run(*argv)[:2] == (0, "")
    (path / "app" / "extra.py").write_text(f"KEY = '{AWS}'\n")
    code, out, _ = run(*argv)
    assert code == 1 and out == f"app/extra.py:1: AWS Access Key [sha1 {SHA1[AWS]}]\n"


def test_not_a_git_repository__is_a_usage_error(tmp_path, run):
    code, _, err = run("secrets", "scan", "--repo", str(tmp_path))
    assert code == 2 and "not a git repository" in err


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_findings__reported_as_a_failing_check_without_the_secret_anywhere(repo, run, live_server, make_token,
                                                                          register, monkeypatch):
    path, env = repo
    register("1.0.0")
    monkeypatch.setenv("GOVERNANCE_URL", live_server.url)
    monkeypatch.setenv("GOVERNANCE_TOKEN", make_token("releases:write", "checks:write"))
    sent = []
    real_post = api.Client.post

    def recording_post(self, path_, payload):  # a spy: records the request body, then really sends it
        sent.append(json.dumps(payload))
        return real_post(self, path_, payload)

    monkeypatch.setattr(api.Client, "post", recording_post)
    (path / "deploy.sh").write_text(f"export AWS_KEY={AWS}\n")
    code, out, err = run("secrets", "scan", "--repo", str(path), "--base", "main", "--service", "shop",
                         "--version", "1.0.0", "--url", "https://ci.example.com/run/7")
    assert code == 1 and "check secret-scan on release" in err and ": failure" in err
    check = Check.objects.get(name="secret-scan")
    assert check.status == "failure" and check.url == "https://ci.example.com/run/7"
    assert check.summary == (
        f"3 possible secrets (SHA-1 of each value shown): app/settings.py:3: Base64 High Entropy String "
        f"[sha1 {SHA1[GITHUB]}]; app/settings.py:3: GitHub Token [sha1 {SHA1['ghp']}]; "
        f"deploy.sh:1: AWS Access Key [sha1 {SHA1[AWS]}]")
    for secret in (GITHUB, AWS):
        assert secret not in out + err and not any(secret in body for body in sent)
        assert _tables_holding(secret) == []

    (path / "deploy.sh").unlink()
    git(path, "checkout", "-q", "main", env=env)
    code, _, _ = run("secrets", "scan", "--repo", str(path), "--base", "main", "--service", "shop",
                     "--version", "1.0.0")
    check.refresh_from_db()
    assert code == 0 and (check.status, check.summary) == ("success", "no secrets found")
