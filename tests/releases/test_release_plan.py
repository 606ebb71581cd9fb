"""The portal as version authority: commits in, next version, explanation, changelog and invalid commits out."""

import pytest

from tests.releases.conftest import commits_json


@pytest.fixture
def ci(api, make_token, service):
    return api(make_token("releases:write"))


def test_first_release__starts_at_the_policy_initial_version(ci):
    response = ci.post("/api/v1/services/shop/release-plan", {"commits": commits_json()}, format="json")
    assert response.status_code == 200, response.json()
    plan = response.json()
    assert (plan["current_version"], plan["next_version"], plan["bump"]) == (None, "0.1.0", "minor")
    assert any("first version 0.1.0" in line for line in plan["explanation"])
    assert plan["changelog"].startswith("## 0.1.0")


def test_after_a_release__bumps_from_the_latest_registered(ci, register):
    register("1.3.0")
    register("1.4.1")
    plan = ci.post("/api/v1/services/shop/release-plan", {"commits": commits_json()}, format="json").json()
    assert (plan["current_version"], plan["next_version"]) == ("1.4.1", "1.5.0")


def test_invalid_commits__are_listed_with_their_errors(ci, register):
    register("1.0.0")
    commits = [*commits_json(), {"sha": "f" * 40, "message": "Add export"}]
    plan = ci.post("/api/v1/services/shop/release-plan", {"commits": commits}, format="json").json()
    assert plan["next_version"] == "1.1.0"
    [bad] = plan["invalid_commits"]
    assert bad["sha"] == "f" * 40 and "expected ':'" in bad["errors"][0]


def test_channel__gives_a_prerelease(ci, register):
    register("1.0.0")
    plan = ci.post("/api/v1/services/shop/release-plan", {"commits": commits_json(), "channel": "rc"},
                   format="json").json()
    assert plan["next_version"] == "1.1.0-rc.1"


def test_bad_channel__is_400(ci):
    response = ci.post("/api/v1/services/shop/release-plan", {"commits": commits_json(), "channel": "1.2"},
                       format="json")
    assert response.status_code == 400 and "channel" in response.json()["errors"]


def test_nothing_to_release__next_version_is_null(ci, register):
    register("1.0.0")
    plan = ci.post("/api/v1/services/shop/release-plan",
                   {"commits": [{"sha": "1" * 40, "message": "docs: typo"}]}, format="json").json()
    assert plan["next_version"] is None and plan["changelog"] == ""


def test_unknown_service__is_404(ci):
    assert ci.post("/api/v1/services/nope/release-plan", {"commits": []}, format="json").status_code == 404


def test_bad_policy__is_400_on_policy(ci):
    response = ci.post("/api/v1/services/shop/release-plan", {"commits": [], "policy": {"breaking": "huge"}},
                       format="json")
    assert response.status_code == 400 and "policy" in response.json()["errors"]
