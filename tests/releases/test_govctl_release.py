"""govctl release/check/gate/deploy against a live portal on 127.0.0.1 (transactional tests)."""

import json
import subprocess

import pytest
from govctl.cli import main

from releases import services
from releases.models import Check, Deployment, Release
from tests.releases.conftest import commits_json

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def govctl(monkeypatch, live_server, make_token, service, capsys):
    monkeypatch.setenv("GOVERNANCE_URL", live_server.url)
    monkeypatch.setenv("GOVERNANCE_TOKEN", make_token("releases:write", "checks:write", name="shop CI"))
    monkeypatch.delenv("GITHUB_SHA", raising=False)

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def commits_file(tmp_path):
    path = tmp_path / "commits.json"
    path.write_text(json.dumps(commits_json()))
    return str(path)


def test_plan__prints_the_next_version_and_explains_on_stderr(govctl, commits_file, register, tmp_path):
    register("1.4.0")
    changelog = tmp_path / "CHANGELOG.part.md"
    code, out, err = govctl("release", "plan", "--service", "shop", "--commits", commits_file,
                            "--changelog-out", str(changelog))
    assert (code, out) == (0, "1.5.0\n")
    assert "1.4.0 + minor → 1.5.0" in err
    assert changelog.read_text().startswith("## 1.5.0")


def test_plan__an_unwritable_changelog_out_is_a_usage_error(govctl, commits_file, register, tmp_path):
    register("1.4.0")
    code, out, err = govctl("release", "plan", "--service", "shop", "--commits", commits_file,
                            "--changelog-out", str(tmp_path / "missing-dir" / "CHANGELOG.part.md"))
    assert code == 2 and "--changelog-out: cannot write" in err


def test_create__registers_with_artifacts_and_is_idempotent(govctl, commits_file, tmp_path):
    matrix = tmp_path / "matrix.json"
    matrix.write_text('{"python": ["3.11", "3.12"]}')
    argv = ["release", "create", "--service", "shop", "--version", "2.0.0", "--build-sha", "a" * 40,
            "--commits", commits_file, "--artifact", f"env_matrix={matrix}", "--pr-url",
            "https://github.com/acme/shop/pull/9"]
    code, out, err = govctl(*argv)
    assert code == 0 and "registered shop 2.0.0" in err
    release = Release.objects.get(pk=int(out))
    assert release.artifacts == {"env_matrix": {"python": ["3.11", "3.12"]}}
    code, out_again, err = govctl(*argv)
    assert code == 0 and out_again == out and "already registered shop 2.0.0" in err


def test_create_conflicting_evidence__exits_1_with_the_portals_reason(govctl, commits_file):
    base = ["release", "create", "--service", "shop", "--version", "2.0.0", "--commits", commits_file]
    assert govctl(*base, "--build-sha", "a" * 40)[0] == 0
    code, _, err = govctl(*base, "--build-sha", "b" * 40)
    assert code == 1
    assert "cannot register the release of shop: request failed (409)" in err
    assert "already registered with other evidence" in err


def test_create_bad_artifact_file__is_a_usage_error(govctl, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = govctl("release", "create", "--service", "shop", "--build-sha", "a" * 40, "--artifact",
                          f"bundle={bad}")
    assert code == 2 and "--artifact bundle" in err and "not valid JSON" in err


def test_check_report_by_service_and_version(govctl, register):
    release = register("1.0.0+build.3")
    code, _, err = govctl("check", "report", "--service", "shop", "--version", "1.0.0+build.3", "--name", "tests",
                          "--status", "success", "--summary", "412 passed")
    assert code == 0 and f"check tests on release {release.pk}: success" in err
    assert Check.objects.get(release=release).summary == "412 passed"


def test_check_report_unknown_release__exits_1(govctl, db):
    code, _, err = govctl("check", "report", "--release", "999999", "--name", "tests", "--status", "success")
    assert code == 1 and "request failed (404)" in err


def test_gate_wait_allow__exits_0(govctl, release, gate_policy):
    gate_policy(approvals_required=0)
    code, _, err = govctl("gate", "wait", "--release", str(release.pk), "--environment", "production",
                          "--timeout", "5s", "--interval", "0.1s")
    assert code == 0 and "gate production: allow" in err and "approvals: allow" in err


def test_gate_wait_blocked__exits_1_with_the_reasons(govctl, release, gate_policy, system_user):
    gate_policy(required_checks=["tests"], approvals_required=0)
    services.report_check(release=release, name="tests", status="failure", actor=system_user, reason="ci")
    code, _, err = govctl("gate", "wait", "--release", str(release.pk), "--environment", "production",
                          "--timeout", "5s", "--interval", "0.1s")
    assert code == 1
    assert "gate production: blocked" in err and "required-checks: block (check-failed): failed: tests" in err


def test_gate_wait_pending__times_out_with_exit_1(govctl, release):
    code, _, err = govctl("gate", "wait", "--release", str(release.pk), "--environment", "production",
                          "--timeout", "0.5s", "--interval", "0.1s")
    assert code == 1
    assert "timed out after 0.5s still pending" in err and "approvals: pending (approvals-missing)" in err


def test_gate_wait__keeps_polling_until_an_approval_arrives(govctl, release, production, second_manager,
                                                            monkeypatch):
    from govctl.commands import gate

    sleeps: list[float] = []

    def approve_then_sleep(seconds):
        if not sleeps:
            services.approve_release(release=release, environment=production, actor=second_manager, reason="ok")
        sleeps.append(seconds)

    monkeypatch.setattr(gate.time, "sleep", approve_then_sleep)
    code, _, err = govctl("gate", "wait", "--release", str(release.pk), "--environment", "production",
                          "--timeout", "60s", "--interval", "5s")
    assert code == 0 and sleeps == [5.0]
    assert "gate production: pending" in err and "gate production: allow" in err


def test_gate_wait_bad_duration__is_a_usage_error(govctl, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["gate", "wait", "--release", "1", "--environment", "production", "--timeout", "soon"])
    assert exc.value.code == 2
    assert "'soon' is not a duration" in capsys.readouterr().err


def test_deploy_record__records_and_prints_the_new_state(govctl, release):
    code, out, err = govctl("deploy", "record", "--release", str(release.pk), "--environment", "preview",
                            "--provider-ref", "dpl_7", "--url", "https://shop-7.vercel.app")
    assert code == 0 and "recorded shop 1.0.0 → preview (succeeded; release now in_preview)" in err
    assert Deployment.objects.get(pk=int(out)).provider_ref == "dpl_7"


def test_deploy_record_to_an_unknown_environment__exits_1(govctl, release):
    code, _, err = govctl("deploy", "record", "--release", str(release.pk), "--environment", "moon")
    assert code == 1 and "No environment 'moon'" in err


def test_wrong_scope__is_an_auth_error(govctl, monkeypatch, make_token, release):
    monkeypatch.setenv("GOVERNANCE_TOKEN", make_token("checks:write"))
    code, _, err = govctl("deploy", "record", "--release", str(release.pk), "--environment", "preview")
    assert code == 4 and "lacks the 'releases:write' scope" in err


def test_plan_from_git__reads_the_range(govctl, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                       env={"GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "dana@example.com",
                            "GIT_COMMITTER_NAME": "Dana", "GIT_COMMITTER_EMAIL": "dana@example.com",
                            "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})

    git("init", "-q")
    git("commit", "-q", "--allow-empty", "-m", "feat: first")
    git("commit", "-q", "--allow-empty", "-m", "fix: second\n\nBody text.")
    monkeypatch.chdir(repo)
    code, out, err = govctl("release", "plan", "--service", "shop", "--git-range", "HEAD", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["next_version"] == "0.1.0" and plan["invalid_commits"] == []
    code, _, err = govctl("release", "plan", "--service", "shop", "--git-range", "nope..HEAD")
    assert code == 2 and "git log nope..HEAD failed" in err
