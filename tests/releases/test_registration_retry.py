"""Retrying `govctl release create` without --version after a timeout finds the first release, not a second."""

from releases.models import Release
from tests.releases.test_release_registration import body


def test_retry_without_version__returns_the_first_release_for_the_same_build(ci_writer, register):
    register("1.4.2", build_sha="1" * 40)
    payload = {k: v for k, v in body().items() if k != "version"}
    first = ci_writer.post("/api/v1/releases", payload, format="json")
    retry = ci_writer.post("/api/v1/releases", payload, format="json")
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["version"] == first.json()["version"] == "1.5.0"
    assert retry.json()["created"] is False
    assert Release.objects.filter(build_sha=payload["build_sha"]).count() == 1


def test_other_commits_without_version__register_the_next_release(ci_writer, register):
    register("1.4.2", build_sha="1" * 40)
    payload = {k: v for k, v in body().items() if k != "version"}
    assert ci_writer.post("/api/v1/releases", payload, format="json").status_code == 201
    other = dict(payload, build_sha="2" * 40, commits=[{"sha": "d" * 40, "message": "feat: wishlists"}])
    response = ci_writer.post("/api/v1/releases", other, format="json")
    assert response.status_code == 201 and response.json()["version"] == "1.6.0"
