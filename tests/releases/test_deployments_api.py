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
    assert "cannot go from rolled_back to live" in response.json()["detail"]


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
