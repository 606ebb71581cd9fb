"""The portal refuses evidence that looks like it holds a secret: 400 naming the field and kind; the value is
neither answered, stored (in any table) nor logged."""

import logging

import pytest

from releases.models import Check, Release
from tests.releases.stored_text import tables_holding as _tables_holding

GITHUB = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"  # made up; assembled so this file holds none whole
SLACK = "xoxb-" + "123456789012-1234567890123-abcdefghijklmnopqrstuvwx"


@pytest.fixture
def ci(api, make_token, service):
    return api(make_token("releases:write", "checks:write"))


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def _registration(**fields):
    return {"service": "shop", "version": "2.0.0", "build_sha": "a" * 40, **fields}


def test_secret_in_artifacts__is_400_naming_the_json_path_and_nothing_is_stored_or_logged(ci, logs):
    body = _registration(artifacts={"deploy": {"env": ["REGION=eu", f"GH_TOKEN={GITHUB}"]}})
    response = ci.post("/api/v1/releases", body, format="json", HTTP_IDEMPOTENCY_KEY="reg-1")
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"].endswith("/secret-in-evidence")
    assert problem["secrets"] == [{"field": "artifacts.deploy.env[1]", "kind": "GitHub Token", "line": None}]
    assert "artifacts.deploy.env[1] looks like a secret (GitHub Token)" in problem["errors"]["artifacts"][0]
    assert GITHUB not in response.content.decode()
    assert not Release.objects.exists()
    assert _tables_holding(GITHUB) == []
    assert GITHUB not in logs.text


def test_secret_in_changelog__names_the_line(ci):
    changelog = "## 2.0.0\n\n- feat: new cart\n- chore: rotate " + SLACK + "\n"
    response = ci.post("/api/v1/releases", _registration(changelog=changelog), format="json")
    assert response.status_code == 400
    assert response.json()["secrets"] == [{"field": "changelog", "kind": "Slack Token", "line": 4}]
    assert _tables_holding(SLACK) == []


def test_secret_in_a_commit_message__is_refused_too(ci):
    commits = [{"sha": "b" * 40, "message": f"fix: use token {GITHUB} for now"}]
    response = ci.post("/api/v1/releases", _registration(commits=commits), format="json")
    assert response.status_code == 400
    assert response.json()["secrets"][0]["field"] == "commits[0].message"


def test_clean_evidence_with_digests__registers(ci):
    artifacts = {"image": "registry.example.com/shop@sha256:" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c"
                 "d15d6c15b0f00a08", "password_env": "${DB_PASSWORD}"}
    response = ci.post("/api/v1/releases", _registration(artifacts=artifacts), format="json")
    assert response.status_code == 201, response.json()


def test_secret_in_a_check_summary_or_url__is_refused_and_the_check_not_stored(ci, release, logs):
    url = f"/api/v1/releases/{release.pk}/checks"
    response = ci.post(url, {"name": "smoke", "status": "failure", "summary": f"login failed with {SLACK}"},
                       format="json")
    assert response.status_code == 400
    assert response.json()["secrets"] == [{"field": "summary", "kind": "Slack Token", "line": None}]
    response = ci.post(url, {"name": "smoke", "status": "failure",
                             "url": "https://bot:" + "hunter2secret@ci.example.com/run/1"}, format="json")
    assert response.status_code == 400 and response.json()["secrets"][0]["field"] == "url"
    assert not Check.objects.filter(name="smoke").exists()
    assert _tables_holding(SLACK) == [] and "hunter2secret" not in logs.text


def test_secret_in_a_deployment_url__is_refused_and_no_deployment_recorded(ci, release, preview):
    from releases.models import Deployment

    response = ci.post("/api/v1/deployments", {"release": release.pk, "environment": "preview",
                                               "url": "https://deploy:" + "hunter2secret@preview.example.com/"},
                       format="json")
    assert response.status_code == 400
    assert response.json()["secrets"] == [{"field": "url", "kind": "Basic Auth Credentials", "line": None}]
    assert not Deployment.objects.exists() and _tables_holding("hunter2secret") == []
