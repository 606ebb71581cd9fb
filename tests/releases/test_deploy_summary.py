"""The deploy summary as Markdown, and posting it to the pull request through the GitHub adapter."""

import json

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from releases import github, services


@pytest.fixture
def gh(monkeypatch):
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(201, json={"html_url": "https://github.com/acme/shop/pull/12#issuecomment-1"})

    monkeypatch.setattr(github, "TRANSPORT", httpx.MockTransport(handler))
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-test")
    return seen


def test_summary__has_version_changelog_evidence_checks_gate_approvals(api, make_token, register, production,
                                                                       second_manager, system_user):
    release = register("1.2.0", pr_url="https://github.com/acme/shop/pull/12", schema_hash="sha256:5ca1ab1e")
    services.report_check(release=release, name="tests", status="success", actor=system_user, reason="ci",
                          url="https://ci.example.com/7", summary="412 passed | 0 failed")
    services.approve_release(release=release, environment=production, actor=second_manager, reason="ok")
    text = api(make_token("releases:write")).get(f"/api/v1/releases/{release.pk}/summary.md").content.decode()
    assert text.startswith("# shop 1.2.0\n")
    for fragment in ("`v1.2.0`", "`sha256:5ca1ab1e`", release.evidence_digest, "### Features",
                     "[tests](https://ci.example.com/7) | success | 412 passed \\| 0 failed |",
                     "## Gate: production — ✅ allow", "| ralph | production |", "Not deployed yet."):
        assert fragment in text, fragment


def test_post_summary__comments_on_the_pull_request(gh, register, release_manager):
    release = register("1.2.0", pr_url="https://github.com/acme/shop/pull/12")
    url = services.post_summary_to_pr(release=release, actor=release_manager, reason="share with reviewers")
    assert url.endswith("#issuecomment-1")
    [request] = gh
    assert request.url == "https://api.github.com/repos/acme/shop/issues/12/comments"
    assert request.headers["Authorization"] == "Bearer ghp-test"
    assert json.loads(request.content)["body"].startswith("# shop 1.2.0")
    release.refresh_from_db()
    assert release.pr_comment_url == url
    assert release.history.latest().history_change_reason == "share with reviewers"


def test_post_summary_without_token_or_github_pr__is_a_clear_error(register, release_manager, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    release = register("1.2.0", pr_url="https://github.com/acme/shop/pull/12")
    with pytest.raises(ValidationError, match="GITHUB_TOKEN is not set"):
        services.post_summary_to_pr(release=release, actor=release_manager, reason="share")
    other = register("1.3.0", pr_url="https://gitlab.example.com/acme/shop/-/merge_requests/3")
    monkeypatch.setenv("GITHUB_TOKEN", "x")
    with pytest.raises(ValidationError, match="not a GitHub pull request URL"):
        services.post_summary_to_pr(release=other, actor=release_manager, reason="share")


def test_github_refusal__is_reported(register, release_manager, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-test")
    monkeypatch.setattr(github, "TRANSPORT", httpx.MockTransport(
        lambda request: httpx.Response(404, json={"message": "Not Found"})))
    release = register("1.2.0", pr_url="https://github.com/acme/shop/pull/12")
    with pytest.raises(ValidationError, match="GitHub answered 404: Not Found"):
        services.post_summary_to_pr(release=release, actor=release_manager, reason="share")


def test_promotion__posts_the_summary_when_github_is_configured(gh, client, release_manager, register, production,
                                                                second_manager, django_capture_on_commit_callbacks):
    release = register("1.0.0", pr_url="https://github.com/acme/shop/pull/12")
    services.approve_release(release=release, environment=production, actor=second_manager, reason="ok")
    client.force_login(release_manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:releases_release_changelist"), {
            "action": "promote", "_selected_action": [release.pk], "confirm": "yes", "reason": "ship"})
    release.refresh_from_db()
    assert release.state == "live"
    assert len(gh) == 1 and release.pr_comment_url.endswith("#issuecomment-1")
    assert "| promotion | production | succeeded |" in json.loads(gh[0].content)["body"]


@pytest.mark.parametrize(("answer", "expected"), [
    (httpx.Response(502, text="<html>Bad gateway</html>"), "GitHub answered 502: <html>Bad gateway</html>"),
    (httpx.Response(403, json=["not", "an", "object"]), "GitHub answered 403: "),
])
def test_github_error_page__is_reported(register, release_manager, monkeypatch, answer, expected):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-test")
    monkeypatch.setattr(github, "TRANSPORT", httpx.MockTransport(lambda request: answer))
    release = register("1.2.0", pr_url="https://github.com/acme/shop/pull/12")
    with pytest.raises(ValidationError) as caught:
        services.post_summary_to_pr(release=release, actor=release_manager, reason="share")
    assert caught.value.messages[0].startswith(expected)


def test_github_accepting_without_json__posts_and_leaves_the_url_unknown(register, release_manager, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-test")
    monkeypatch.setattr(github, "TRANSPORT", httpx.MockTransport(lambda request: httpx.Response(201, text="ok")))
    release = register("1.2.0", pr_url="https://github.com/acme/shop/pull/12")
    assert services.post_summary_to_pr(release=release, actor=release_manager, reason="share") == ""
