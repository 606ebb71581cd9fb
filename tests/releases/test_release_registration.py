"""Registering releases through the API: evidence digest, idempotency, version order, clear 4xx answers."""

import hashlib
import json

import pytest

from releases import evidence
from releases.models import Release
from tests.releases.conftest import commits_json

SHA = "c0ffee" + "0" * 34


def body(**overrides):
    data = {"service": "shop", "version": "1.2.0", "build_sha": SHA, "schema_hash": "sha256:abc",
            "pr_url": "https://github.com/acme/shop/pull/12", "author": "dana", "commits": commits_json(),
            "artifacts": {"env_matrix": {"python": ["3.11"]}, "bundle": {"kb": 412.5}}}
    data.update(overrides)
    return data


@pytest.fixture
def ci(api, make_token, service):
    return api(make_token("releases:write", "checks:write"))


def test_register__stores_evidence_and_its_digest(ci, service):
    response = ci.post("/api/v1/releases", body(), format="json")
    assert response.status_code == 201, response.json()
    shown = response.json()
    release = Release.objects.get(pk=shown["id"])
    assert (release.version, release.tag, release.state) == ("1.2.0", "v1.2.0", "registered")
    assert release.artifacts["bundle"] == {"kb": 412.5}
    assert release.first_commit_at is not None
    assert release.first_commit_at.isoformat() == "2025-03-01T09:00:00+00:00"
    assert release.bump == "minor"
    assert "### Features" in release.changelog and "save carts for later" in release.changelog
    fields = {name: getattr(release, name) for name in evidence.EVIDENCE_FIELDS if name != "service"}
    canonical = json.dumps({**fields, "service": "shop"}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert shown["evidence_digest"] == hashlib.sha256(canonical.encode()).hexdigest() == release.evidence_digest
    assert release.history.latest().history_change_reason.startswith("api (ci): register release")


def test_register_same_evidence_twice__answers_200_with_the_same_release(ci):
    first = ci.post("/api/v1/releases", body(), format="json")
    again = ci.post("/api/v1/releases", body(), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert Release.objects.count() == 1


def test_retry_with_the_same_idempotency_key__replays_the_first_answer(ci):
    first = ci.post("/api/v1/releases", body(), format="json", HTTP_IDEMPOTENCY_KEY="rel-1")
    again = ci.post("/api/v1/releases", body(), format="json", HTTP_IDEMPOTENCY_KEY="rel-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()


def test_same_version_other_evidence__is_409_naming_the_way_out(ci):
    ci.post("/api/v1/releases", body(), format="json")
    other = ci.post("/api/v1/releases", body(build_sha="d" * 40), format="json")
    assert other.status_code == 409
    assert other["Content-Type"] == "application/problem+json"
    assert "already registered with other evidence" in other.json()["detail"]
    assert "replace=true" in other.json()["detail"]


def test_replace__amends_evidence_and_bumps_the_revision(ci):
    first = ci.post("/api/v1/releases", body(), format="json").json()
    amended = ci.post("/api/v1/releases", body(build_sha="d" * 40, replace=True), format="json")
    assert amended.status_code == 200 and amended.json()["amended"] is True
    assert amended.json()["evidence_digest"] != first["evidence_digest"]
    assert amended.json()["evidence_revision"] == 2 and amended.json()["build_sha"] == "d" * 40


@pytest.mark.parametrize("version", ["1.1.9", "1.2.0+build.7", "1.2.0-rc.1"])
def test_non_increasing_version__is_409_with_the_latest(ci, version):
    ci.post("/api/v1/releases", body(), format="json")
    response = ci.post("/api/v1/releases", body(version=version, build_sha="e" * 40), format="json")
    assert response.status_code == 409
    assert f"version {version} is not greater than 1.2.0" in response.json()["detail"]


def test_higher_version__is_accepted_and_prerelease_orders_by_semver(ci):
    assert ci.post("/api/v1/releases", body(version="1.2.0-rc.1"), format="json").status_code == 201
    assert ci.post("/api/v1/releases", body(version="1.2.0-rc.2", tag="v1.2.0-rc.2b"), format="json").status_code == 201
    assert ci.post("/api/v1/releases", body(version="1.2.0"), format="json").status_code == 201


@pytest.mark.parametrize(("version", "fragment"), [
    ("v1.2.0", "'v' prefix"), ("1.2", "MAJOR.MINOR.PATCH"), ("01.2.0", "leading zero"),
])
def test_invalid_semver__is_400_on_the_version_field(ci, version, fragment):
    response = ci.post("/api/v1/releases", body(version=version), format="json")
    assert response.status_code == 400
    assert fragment in response.json()["errors"]["version"][0]


def test_version_omitted__the_portal_computes_it(ci, register):
    register("1.4.2", build_sha="1" * 40)  # another build: the same one would be found (test_registration_retry)
    payload = {k: v for k, v in body().items() if k != "version"}
    response = ci.post("/api/v1/releases", payload, format="json")
    assert response.status_code == 201
    assert response.json()["version"] == "1.5.0"


def test_unknown_service__is_404(ci):
    response = ci.post("/api/v1/releases", body(service="nope"), format="json")
    assert response.status_code == 404
    assert response.json()["detail"] == "No service 'nope'."


def test_malformed_json__is_400_problem(ci):
    response = ci.generic("POST", "/api/v1/releases", '{"service": "shop",', content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize(("override", "field"), [
    ({"build_sha": "not-a-sha"}, "build_sha"),
    ({"artifacts": [1, 2]}, "artifacts"),
    ({"commits": [{"sha": "zz", "message": "feat: x"}]}, "commits"),
    ({"pr_url": "not a url"}, "pr_url"),
    ({"bump_policy": {"breaking": "huge"}}, "bump_policy"),
])
def test_bad_fields__are_400_naming_the_field(ci, override, field):
    response = ci.post("/api/v1/releases", body(**override), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()


def test_nan_in_artifacts__is_400(ci):
    text = json.dumps(body(artifacts={"x": float("nan")}))  # Python writes NaN; evidence must be plain JSON
    response = ci.generic("POST", "/api/v1/releases", text, content_type="application/json")
    assert response.status_code == 400
    assert "NaN" in response.json()["detail"]


def test_nul_character_in_artifacts__is_400_and_registers_nothing(ci):
    response = ci.post("/api/v1/releases", body(artifacts={"report": {"line": "a\x00b"}}), format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == ("JSON parse error - a string holds a NUL character (\\u0000), which cannot "
                                         "be stored (at artifacts.report.line).")
    assert not Release.objects.exists()


def test_lookup_by_version__finds_the_release(ci, register):
    release = register("2.0.0+build.5")
    response = ci.get("/api/v1/services/shop/releases/2.0.0+build.5")
    assert response.status_code == 200 and response.json()["id"] == release.pk
    assert ci.get("/api/v1/services/shop/releases/9.9.9").status_code == 404


@pytest.mark.parametrize(("version", "status"), [("1.0.0%00", 400), ("not-semver", 404), ("v" * 300, 404)])
def test_lookup_by_what_cannot_be_a_version__is_a_4xx_problem(ci, register, version, status):
    register("1.0.0")
    response = ci.get(f"/api/v1/services/shop/releases/{version}")
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
