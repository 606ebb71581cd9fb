"""GET /api/v1/flags/snapshot: Unleash format, signed, revisioned, ETag/304, served from memory."""

import dataclasses

import pytest
from govctl.flags.evaluation import State, evaluate
from govctl.flags.snapshot import verify_snapshot

from flags import delivery, services
from flags.models import FlagState

URL = "/api/v1/flags/snapshot"
SHOP_PROD = {"service": "shop", "environment": "production"}


@pytest.fixture
def rollout(make_flag, state_of, system_user):
    flag = make_flag("new-checkout")
    services.set_strategies(state=state_of(flag, "production"), strategies=[{"name": "flexibleRollout", "parameters": {
        "rollout": "30", "stickiness": "userId", "groupId": "new-checkout"}, "constraints": []}],
        actor=system_user, reason="30% rollout")
    services.set_enabled(state=state_of(flag, "production"), enabled=True, actor=system_user, reason="launch")
    return flag


def test_snapshot__is_the_unleash_format_signed_with_failure_modes(api, reader, rollout, settings):
    response = api(reader).get(URL, SHOP_PROD)
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2 and body["segments"] == []
    features = {f["name"]: f for f in body["features"]}
    assert set(features) == {"new-checkout", "maintenance_mode", "kill_switch_api", "kill_switch_database",
                             "rate_limit_multiplier"}
    assert features["maintenance_mode"]["type"] == "kill-switch"
    assert features["new-checkout"]["failureMode"] == "last_known_good"
    assert features["new-checkout"]["strategies"][0]["parameters"]["rollout"] == "30"
    assert features["rate_limit_multiplier"]["valueType"] == "number"
    assert verify_snapshot(body, settings.FLAGS_SIGNING_SECRET)
    assert response["Cache-Control"] == "max-age=300"
    assert response["X-Flags-Source"] == "database"
    assert evaluate(State(body), "rate_limit_multiplier").value == 1.0


def test_revision__is_the_highest_state_revision_and_grows_on_every_change(api, reader, rollout, state_of,
                                                                           system_user):
    first = api(reader).get(URL, SHOP_PROD).json()["revision"]
    assert first == max(FlagState.objects.filter(flag__service__slug="shop", environment__slug="production")
                        .values_list("revision", flat=True))
    services.set_enabled(state=state_of(rollout, "production"), enabled=False, actor=system_user, reason="stop")
    second = api(reader).get(URL, SHOP_PROD).json()["revision"]
    assert second > first
    services.set_enabled(state=state_of(rollout, "development"), enabled=True, actor=system_user, reason="dev")
    assert api(reader).get(URL, SHOP_PROD).json()["revision"] == second  # another environment's change


def test_unchanged_snapshot__answers_304_to_its_etag(api, reader, rollout):
    first = api(reader).get(URL, SHOP_PROD)
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = api(reader).get(URL, SHOP_PROD, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["Cache-Control"] == "max-age=300"
    assert api(reader).get(URL, SHOP_PROD, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert api(reader).get(URL, SHOP_PROD, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_change__invalidates_at_once_with_a_new_etag(api, reader, rollout, state_of, system_user):
    etag = api(reader).get(URL, SHOP_PROD)["ETag"]
    services.set_enabled(state=state_of(rollout, "production"), enabled=False, actor=system_user, reason="stop")
    response = api(reader).get(URL, SHOP_PROD, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag
    assert {f["name"]: f["enabled"] for f in response.json()["features"]}["new-checkout"] is False


def test_change__invalidates_every_process_after_commit(rollout, state_of, system_user,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.set_enabled(state=state_of(rollout, "production"), enabled=False, actor=system_user, reason="x")
    assert delivery.invalidate in callbacks


def test_other_process_copy__is_replaced_when_the_generation_moved(api, reader, rollout, state_of, system_user,
                                                                   settings):
    api(reader).get(URL, SHOP_PROD)
    old = delivery._memory[("shop", "production")]
    services.set_enabled(state=state_of(rollout, "production"), enabled=False, actor=system_user, reason="stop")
    # Another process still holds the old copy; once its trust period is over it checks the generation.
    delivery._memory[("shop", "production")] = dataclasses.replace(old, checked_at=old.checked_at - 3600)
    response = api(reader).get(URL, SHOP_PROD)
    assert {f["name"]: f["enabled"] for f in response.json()["features"]}["new-checkout"] is False
    assert response["X-Flags-Source"] in ("database", "cache")


def test_hot_path__makes_no_database_query(api, reader, rollout, django_assert_num_queries, settings):
    settings.FLAGS_MEMORY_TTL_SECONDS = 60  # the test must not depend on the machine's speed
    client = api(reader)
    etag = client.get(URL, SHOP_PROD)["ETag"]  # verifies the token and builds the snapshot
    with django_assert_num_queries(0):
        full = client.get(URL, SHOP_PROD)
        not_modified = client.get(URL, SHOP_PROD, HTTP_IF_NONE_MATCH=etag)
    assert (full.status_code, not_modified.status_code) == (200, 304)
    assert full["X-Flags-Source"] == "memory"


def test_second_process__reads_the_shared_cache(api, reader, rollout):
    first = api(reader).get(URL, SHOP_PROD)
    delivery._memory.clear()  # what a fresh worker process has
    delivery._final.clear()
    second = api(reader).get(URL, SHOP_PROD)
    assert second["X-Flags-Source"] == "cache"
    assert second["ETag"] == first["ETag"] and second.content == first.content


def test_every_build__is_written_to_the_last_known_good_file(api, reader, rollout, settings):
    api(reader).get(URL, SHOP_PROD)
    path = delivery.lkg_path("shop", "production")
    assert path.parent == settings.FLAGS_LKG_DIR and path.exists()
    assert not list(path.parent.glob(".*.tmp"))  # written atomically (temp file + rename)


def test_utf8_keys__are_served(api, reader, make_flag):
    make_flag("früh-kasse-✓")
    names = [f["name"] for f in api(reader).get(URL, SHOP_PROD).json()["features"]]
    assert "früh-kasse-✓" in names


def test_archived_flag__leaves_the_snapshot_and_bumps_the_revision(api, reader, rollout, system_user):
    before = api(reader).get(URL, SHOP_PROD).json()
    services.archive_flag(flag=rollout, actor=system_user, reason="rolled out")
    after = api(reader).get(URL, SHOP_PROD).json()
    assert "new-checkout" not in [f["name"] for f in after["features"]]
    assert after["revision"] > before["revision"]


def test_missing_parameters__are_a_400_problem(api, reader, db):
    response = api(reader).get(URL, {"service": "shop"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "environment" in response.json()["errors"]


def test_unknown_service__is_404(api, reader, db):
    response = api(reader).get(URL, {"service": "nope", "environment": "production"})
    assert response.status_code == 404 and "nope" in response.json()["detail"]


def test_over_the_flag_rate__is_429_with_retry_after(api, reader, make_token, rollout, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "flags": "3/min"}}
    client = api(reader)
    codes = [client.get(URL, SHOP_PROD).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    blocked = client.get(URL, SHOP_PROD)
    assert blocked.json()["title"] == "Too many requests" and int(blocked["Retry-After"]) > 0
    assert api(make_token("flags:read")).get(URL, SHOP_PROD).status_code == 200  # per token
