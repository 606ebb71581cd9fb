"""Deployments recorded by CI: state changes, the gate snapshot, the DEPLOYMENT_RECORDED hook on commit."""

import pytest

from governance import hooks
from releases.models import Deployment, Release


@pytest.fixture
def ci(api, make_token, service):
    return api(make_token("releases:write"))


def test_preview_deployment__moves_the_release_to_in_preview(ci, release):
    response = ci.post("/api/v1/deployments", {"release": release.pk, "environment": "preview",
                                               "url": "https://shop-git-abc.vercel.app", "provider_ref": "dpl_1"},
                       format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["release_state"] == "in_preview"
    deployment = Deployment.objects.get()
    assert (deployment.kind, deployment.provider, deployment.provider_ref) == ("deploy", "ci", "dpl_1")
    assert deployment.history.latest().history_change_reason.startswith("api (ci)")


def test_production_deployment__goes_live_supersedes_and_keeps_the_gate(ci, register):
    old, new = register("1.0.0"), register("1.1.0")
    ci.post("/api/v1/deployments", {"release": old.pk, "environment": "production"}, format="json")
    response = ci.post("/api/v1/deployments", {"service": "shop", "version": "1.1.0", "environment": "production"},
                       format="json")
    assert response.status_code == 201
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, new.state) == ("superseded", "live")
    deployment = Deployment.objects.get(release=new)
    assert deployment.replaces == old
    assert deployment.gate["decision"] == "pending"  # recorded while approvals were missing: visible afterwards
    assert response.json()["gate_decision"] == "pending"


def test_deployment_hook__fires_on_commit(ci, release, monkeypatch, django_capture_on_commit_callbacks):
    seen = []
    monkeypatch.setattr(hooks, "DEPLOYMENT_RECORDED", [lambda *, deployment: seen.append(deployment.pk)])
    with django_capture_on_commit_callbacks(execute=True):
        response = ci.post("/api/v1/deployments", {"release": release.pk, "environment": "production"}, format="json")
    assert seen == [response.json()["id"]]


def test_failing_hook__does_not_undo_the_deployment(ci, release, monkeypatch, django_capture_on_commit_callbacks):
    def broken(*, deployment):
        raise RuntimeError("snapshot store down")

    monkeypatch.setattr(hooks, "DEPLOYMENT_RECORDED", [broken])
    with django_capture_on_commit_callbacks(execute=True):
        response = ci.post("/api/v1/deployments", {"release": release.pk, "environment": "production"}, format="json")
    assert response.status_code == 201
    assert Deployment.objects.filter(pk=response.json()["id"]).exists()


def test_failed_production_deployment__marks_the_release_failed(ci, release):
    ci.post("/api/v1/deployments", {"release": release.pk, "environment": "production", "status": "failed"},
            format="json")
    release.refresh_from_db()
    assert release.state == "failed"


def test_rolled_back_release__cannot_be_recorded_live(ci, register, system_user):
    from releases import services

    release = register("1.0.0")
    ci.post("/api/v1/deployments", {"release": release.pk, "environment": "production"}, format="json")
    release.refresh_from_db()
    services.transition(release, Release.State.ROLLED_BACK, actor=system_user, reason="test")
    response = ci.post("/api/v1/deployments", {"release": release.pk, "environment": "production"}, format="json")
    assert response.status_code == 409
    assert "is rolled_back: it cannot move to live" in response.json()["detail"]


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"environment": "production"}, 400, "give the release id, or service and version"),
    ({"release": 999999, "environment": "production"}, 404, "Not found"),
    ({"service": "shop", "version": "9.9.9", "environment": "production"}, 404, "has no release 9.9.9"),
    ({"environment": "moon"}, 404, "No environment 'moon'"),
    ({"environment": "production", "status": "exploded"}, 400, "'exploded' is not a recorded deployment status"),
])
def test_bad_deployment_input__is_a_clear_4xx(ci, release, body, status, fragment):
    if "environment" in body and body["environment"] == "moon" or body.get("status") == "exploded":
        body = {**body, "release": release.pk}
    response = ci.post("/api/v1/deployments", body, format="json")
    assert response.status_code == status, response.json()
    assert fragment in str(response.json())


def test_retry_with_the_same_key__records_one_deployment(ci, release):
    body = {"release": release.pk, "environment": "preview"}
    first = ci.post("/api/v1/deployments", body, format="json", HTTP_IDEMPOTENCY_KEY="dep-1")
    again = ci.post("/api/v1/deployments", body, format="json", HTTP_IDEMPOTENCY_KEY="dep-1")
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Deployment.objects.count() == 1


def test_audit_events_of_deployments_and_approvals__carry_the_service(ci, release, production, second_manager):
    from governance.models import AuditEvent
    from releases import services

    ci.post("/api/v1/deployments", {"release": release.pk, "environment": "preview"}, format="json")
    services.approve_release(release=release, environment=production, actor=second_manager, reason="ok")
    for model in ("releases.deployment", "releases.approval", "releases.release"):
        events = AuditEvent.objects.filter(model=model)
        assert events.exists() and {e.service_id for e in events} == {release.service_id}, model


def test_finished_deployment__is_not_run_again(release, production, system_user, second_manager, release_manager):
    from releases import services

    services.approve_release(release=release, environment=production, actor=second_manager, reason="ok")
    deployment = services.start_promotion(release=release, environment=production, actor=release_manager,
                                          reason="ship")
    done = services.execute_deployment(deployment_id=deployment.pk, actor=system_user)
    assert done.status == "succeeded"
    history = done.history.count()
    again = services.execute_deployment(deployment_id=deployment.pk, actor=system_user)  # a re-delivered task
    assert again.status == "succeeded" and again.history.count() == history


def test_freeze_override__needs_a_release_manager(release, production, operator, system_user):
    from datetime import timedelta

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from governance import services as core
    from releases import services
    from releases.models import FreezeWindow

    now = timezone.now()
    core.save_audited(instance=FreezeWindow(title="freeze", environment=production, starts_at=now,
                                            ends_at=now + timedelta(hours=1)), actor=system_user, reason="freeze")
    with pytest.raises(ValidationError, match="may not override freeze windows"):
        services.override_freeze(release=release, environment=production, actor=operator, reason="please")
