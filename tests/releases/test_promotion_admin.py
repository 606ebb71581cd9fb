"""Promote and roll back from the admin: confirmation with a reason, the gate again, the provider, the records."""

import httpx
import pytest
from django.urls import reverse

from releases import providers, services
from releases.models import Deployment, Release

CHANGELIST = "admin:releases_release_changelist"


@pytest.fixture
def live_and_next(register, production, system_user, gate_policy, second_manager):
    """1.0.0 is live in production; 1.1.0 is registered and approved by ralph (the gate allows it)."""
    gate_policy(approvals_required=1)
    old = register("1.0.0")
    services.record_deployment(release=old, environment=production, status="succeeded", actor=system_user,
                               reason="ci deployed 1.0.0")
    new = register("1.1.0")
    services.approve_release(release=new, environment=production, actor=second_manager, reason="reviewed")
    return old, new


def _post(client, action, release, **extra):
    return client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [release.pk], **extra})


def test_promote__confirms_with_a_reason_then_the_webhook_deploys(
        client, release_manager, webhook_service, receiver, live_and_next, django_capture_on_commit_callbacks):
    old, new = live_and_next
    client.force_login(release_manager)
    confirm = _post(client, "promote", new)
    assert b"Promote to production" in confirm.content
    assert b'<span class="verdict verdict-allow" id="gate-decision">allow</span>' in confirm.content
    assert not Deployment.objects.filter(kind="promotion").exists()
    missing = _post(client, "promote", new, confirm="yes", reason="")
    assert b"This field is required" in missing.content
    with django_capture_on_commit_callbacks(execute=True):
        done = _post(client, "promote", new, confirm="yes", reason="weekly release")
    assert done.status_code == 302
    deployment = Deployment.objects.get(kind="promotion")
    assert (deployment.status, deployment.provider, deployment.provider_ref) == ("succeeded", "webhook", "build-42")
    assert (deployment.requested_by, deployment.reason, deployment.replaces) == (release_manager, "weekly release", old)
    assert deployment.gate["decision"] == "allow"
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, new.state) == ("superseded", "live")
    [delivery] = receiver.received
    assert delivery["valid"] and delivery["event"] == "release.promote"
    assert delivery["body"]["release"]["version"] == "1.1.0" and delivery["body"]["reason"] == "weekly release"
    states = [h.state for h in new.history.order_by("history_date")]
    assert states[-2:] == ["promoting", "live"]
    assert new.history.filter(state="promoting").get().history_user == release_manager


def test_promote_when_the_gate_waits__is_refused_with_its_reasons(client, release_manager, register, production,
                                                                   django_capture_on_commit_callbacks):
    release = register("1.0.0")  # the default production policy wants one approval
    client.force_login(release_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, "promote", release, confirm="yes", reason="ship")
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("the production gate says pending: approvals: 0 of 1" in m for m in messages)
    release.refresh_from_db()
    assert release.state == "registered" and not Deployment.objects.exists()


def test_provider_failure__marks_the_release_failed_and_keeps_the_old_one_live(
        client, release_manager, webhook_service, receiver, live_and_next, django_capture_on_commit_callbacks):
    old, new = live_and_next
    receiver.statuses = [500, 500, 500]
    client.force_login(release_manager)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, "promote", new, confirm="yes", reason="weekly release")
    deployment = Deployment.objects.get(kind="promotion")
    assert deployment.status == "failed" and "webhook answered 500 after 3 attempt(s)" in deployment.error
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, new.state) == ("live", "failed")
    page = client.get(reverse("admin:releases_release_change", args=[new.pk]))
    assert b"webhook answered 500" in page.content


def test_rollback__defaults_to_the_previous_live_release_and_records_it(
        client, release_manager, webhook_service, receiver, live_and_next, django_capture_on_commit_callbacks):
    old, new = live_and_next
    client.force_login(release_manager)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, "promote", new, confirm="yes", reason="weekly release")
    confirm = _post(client, "rollback", Release.objects.get(pk=new.pk))
    assert b"Roll back shop 1.1.0" in confirm.content
    assert f'<option value="{old.pk}" selected>'.encode() in confirm.content
    with django_capture_on_commit_callbacks(execute=True):
        done = _post(client, "rollback", new, confirm="yes", reason="checkout errors", target=old.pk)
    assert done.status_code == 302
    rollback = Deployment.objects.get(kind="rollback")
    assert (rollback.release, rollback.replaces, rollback.status) == (old, new, "succeeded")
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, new.state) == ("live", "rolled_back")
    assert receiver.received[-1]["event"] == "release.rollback"
    assert receiver.received[-1]["body"]["release"]["version"] == "1.0.0"
    assert new.history.latest().history_change_reason.endswith("checkout errors")
    page = client.get(reverse("admin:releases_release_change", args=[new.pk])).content.decode()
    assert "rollback" in page and "checkout errors" in page


def test_rollback_of_a_release_that_is_not_live__is_refused(client, release_manager, register):
    release = register("1.0.0")
    client.force_login(release_manager)
    response = _post(client, "rollback", release)
    assert response.status_code == 302
    assert any("Select the one live release" in str(m) for m in response.wsgi_request._messages)


def test_vercel_promotion__uses_the_preview_deployment_id(client, release_manager, service, live_and_next, preview,
                                                         system_user, monkeypatch, django_capture_on_commit_callbacks):
    from governance import services as core

    old, new = live_and_next
    monkeypatch.setenv("VERCEL_TOKEN", "tok")
    service.deploy_provider, service.deploy_settings = "vercel", {"project_id": "prj_shop"}
    core.save_audited(instance=service, actor=system_user, reason="vercel", update_fields=["deploy_provider",
                                                                                           "deploy_settings"])
    services.record_deployment(release=new, environment=preview, status="succeeded", actor=system_user,
                               reason="ci preview", provider_ref="dpl_preview_11")
    seen: list[httpx.Request] = []

    def vercel(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={})

    monkeypatch.setattr(providers, "TRANSPORT", httpx.MockTransport(vercel))
    client.force_login(release_manager)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, "promote", new, confirm="yes", reason="weekly release")
    assert [r.url.path for r in seen] == ["/v10/projects/prj_shop/promote/dpl_preview_11"]
    new.refresh_from_db()
    assert new.state == "live"


def test_operator__cannot_promote(client, operator, live_and_next, django_capture_on_commit_callbacks):
    _, new = live_and_next
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, "promote", new, confirm="yes", reason="sneaky")
    new.refresh_from_db()
    assert new.state == "registered" and not Deployment.objects.filter(kind="promotion").exists()


def test_approve_action__records_the_approval(client, release_manager, register, production):
    release = register("1.0.0")
    client.force_login(release_manager)
    response = _post(client, "approve", release, confirm="yes", reason="evidence reviewed")
    assert response.status_code == 302
    approval = release.approvals.get()
    assert (approval.approver, approval.comment) == (release_manager, "evidence reviewed")


def test_release_page__shows_the_evidence_chain(client, release_manager, live_and_next, system_user):
    _, new = live_and_next
    services.report_check(release=new, name="tests", status="success", actor=system_user, reason="ci",
                          url="https://ci.example.com/1")
    client.force_login(release_manager)
    page = client.get(reverse("admin:releases_release_change", args=[new.pk])).content.decode()
    for fragment in (new.tag, new.build_sha, new.evidence_digest, "tests", "ralph", 'id="gate-decision">allow',
                     "Promote to production…"):
        assert fragment in page, fragment
    # The page is read-only: a POST to it changes nothing.
    assert client.post(reverse("admin:releases_release_change", args=[new.pk]), {}).status_code == 403


def test_auditor__sees_the_page_without_actions(client, auditor, live_and_next):
    _, new = live_and_next
    client.force_login(auditor)
    page = client.get(reverse("admin:releases_release_change", args=[new.pk])).content.decode()
    assert new.evidence_digest in page and "Promote to production…" not in page
