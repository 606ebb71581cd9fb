"""Every domain conflict is a 409 problem JSON from the one exception handler (governance.api.errors), with
nothing written: a service registered twice (also concurrently), a release's evidence changed under the same
version, a deployment of a rolled-back release, a flag change from a stale revision."""

import pytest

from governance.models import AuditEvent, Service
from releases.models import Release
from tests.concurrency import run_concurrently
from tests.releases.conftest import commits_json

PROBLEM = "application/problem+json"


def _assert_conflict(response, code: str = "conflict") -> dict:
    assert response.status_code == 409, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == 409 and body["title"] == "Conflict"
    assert body["type"].endswith(f"/problems/{code}") and body["detail"]
    return body


def _release_body(**overrides):
    return {"service": "shop", "version": "1.2.0", "build_sha": "c0ffee" + "0" * 34, "author": "dana",
            "commits": commits_json(), **overrides}


def test_service_registered_twice__409_service_exists(api, make_token):
    client = api(make_token("releases:write"))
    assert client.post("/api/v1/services", {"slug": "search", "name": "S", "reason": "r"}, format="json").status_code \
        == 201
    events = AuditEvent.objects.count()

    again = client.post("/api/v1/services", {"slug": "search", "name": "Other", "reason": "r"}, format="json")

    assert _assert_conflict(again, "service-exists")["detail"] == "Service 'search' already exists."
    assert Service.objects.get(slug="search").name == "S" and AuditEvent.objects.count() == events


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_service_registered_by_two_requests_at_once__one_201_one_409(api, make_token):
    secret = make_token("releases:write")

    answers = run_concurrently(lambda: api(secret).post(
        "/api/v1/services", {"slug": "race", "name": "Race", "reason": "r"}, format="json"))

    assert sorted(a.status_code for a in answers) == [201, 409]
    _assert_conflict(next(a for a in answers if a.status_code == 409), "service-exists")
    assert Service.objects.filter(slug="race").count() == 1


def test_release_evidence_changed_under_the_same_version__409(api, make_token, service):
    client = api(make_token("releases:write"))
    assert client.post("/api/v1/releases", _release_body(), format="json").status_code == 201

    other = client.post("/api/v1/releases", _release_body(build_sha="d" * 40), format="json")

    assert "replace=true" in _assert_conflict(other)["detail"]
    assert Release.objects.get().build_sha == "c0ffee" + "0" * 34


def test_deployment_of_a_rolled_back_release__409(api, make_token, service, system_user):
    from releases import services as release_services

    client = api(make_token("releases:write"))
    release = Release.objects.get(pk=client.post("/api/v1/releases", _release_body(), format="json").json()["id"])
    deploy = {"release": release.pk, "environment": "production"}
    assert client.post("/api/v1/deployments", deploy, format="json").status_code == 201
    release.refresh_from_db()
    release_services.transition(release, Release.State.ROLLED_BACK, actor=system_user, reason="test")

    response = client.post("/api/v1/deployments", deploy, format="json")

    _assert_conflict(response)
    assert release.deployments.count() == 1


def test_flag_change_from_a_stale_revision__409_naming_the_current_revision(api, make_token, service, system_user):
    from flags import services as flag_services
    from flags.models import FlagState

    flag = flag_services.create_flag(service=service, key="new-checkout", owner="team", actor=system_user,
                                     reason="test")
    state = FlagState.objects.get(flag=flag, environment__slug="development")
    client = api(make_token("flags:write", "flags:read"))
    url = "/api/v1/flags/shop/development/new-checkout/changes"
    first = client.post(url, {"operation": "enable", "reason": "INC-1", "expected_revision": state.revision},
                        format="json")
    assert first.status_code == 200, first.json()

    stale = client.post(url, {"operation": "disable", "reason": "INC-1", "expected_revision": state.revision},
                        format="json")

    body = _assert_conflict(stale, "stale-revision")
    assert body["current_revision"] == first.json()["state"]["revision"]
    assert FlagState.objects.get(pk=state.pk).enabled is True
