"""For real: a gunicorn portal, uvicorn stream servers and govctl's SDK on 127.0.0.1, on a throwaway PostgreSQL.

A kill switch engaged through the API reaches a streaming SDK within a second; Last-Event-ID resumes without a
reload; the SDK falls back to polling while the stream server is down and comes back to the stream; the stream
refuses what the snapshot refuses; a change reaches the streams of two stream processes through LISTEN/NOTIFY
and through Redis pub/sub.
"""

import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from govctl.flags.snapshot import apply_delta, canonical_json, etag_of, verify_snapshot
from govctl.flags.streaming import STREAM_PATH, read_events
from govctl.sdk import FlagClient

from tests.flags.live_portal import Cluster, Portal, StreamServer, manage, token_maker

SECRET = "stream-test-signing-secret"
DEV = {"service": "shop", "environment": "development"}
KEY = "kill_switch_api"


@pytest.fixture(scope="module")
def live():
    cluster = Cluster()
    lkg_dir = Path(tempfile.mkdtemp(prefix="gov-lkg-"))
    started: list[Portal | StreamServer] = []
    try:
        cluster.start()
        cluster.create_database("portal")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "DEBUG": "true", "REDIS_URL": "",
               "DATABASE_URL": cluster.url("portal"), "FLAGS_LKG_DIR": str(lkg_dir), "CONN_MAX_AGE": "0",
               "FLAGS_SIGNING_SECRET": SECRET, "FLAGS_STREAM_HEARTBEAT_SECONDS": "1",
               "FLAGS_STREAM_CHANNEL": f"flags_test_{uuid.uuid4().hex[:8]}"}
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")

        token = token_maker(env, "stream test")

        tokens = {"reader": token("--name", "sdk", "--scope", "flags:read"),
                  "writer": token("--name", "ops", "--scope", "flags:write", "--scope", "flags:read"),
                  "shop_only": token("--name", "shop", "--scope", "flags:read", "--service", "shop"),
                  "portal_only": token("--name", "portal", "--scope", "flags:read", "--service", "portal"),
                  "no_scope": token("--name", "sli", "--scope", "sli:write")}
        portal = Portal(env)
        started.append(portal)
        stream = StreamServer(env)
        started.append(stream)
        yield {"cluster": cluster, "env": env, "portal": portal, "stream": stream, "tokens": tokens, "lkg": lkg_dir,
               "started": started}
    finally:
        for process in reversed(started):
            process.stop()
        cluster.destroy()
        shutil.rmtree(lkg_dir, ignore_errors=True)


def _change(portal, token, operation, **extra):
    response = httpx.post(f"{portal.url}/api/v1/flags/shop/development/{KEY}/changes", timeout=10,
                          headers={"Authorization": f"Bearer {token}"},
                          json={"operation": operation, "reason": "stream test", **extra})
    assert response.status_code == 200, response.text
    return response


def _set(portal, token, on: bool):
    return _change(portal, token, "engage_kill_switch" if on else "disengage_kill_switch")


def _wait(condition, timeout, step=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def _client(live, stream_url, tmp_path, **options):
    options = {"poll_interval": 300, "timeout": 5, **options}
    return FlagClient(url=live["portal"].url, stream_url=stream_url, token=live["tokens"]["reader"],
                      signing_secret=SECRET, lkg_path=tmp_path / f"lkg-{uuid.uuid4().hex[:6]}.json",
                      service=DEV["service"], environment=DEV["environment"], **options)


def test_kill_switch_engaged_through_the_api__reaches_a_streaming_sdk_within_a_second(live, tmp_path):
    client = _client(live, live["stream"].url, tmp_path)
    try:
        client.start()
        assert _wait(lambda: client.streaming, 10), client.last_stream_error
        before = client.is_enabled(KEY)
        response = _set(live["portal"], live["tokens"]["writer"], not before)
        answered = time.monotonic()
        assert _wait(lambda: client.is_enabled(KEY) is (not before), 1.0)
        elapsed = time.monotonic() - answered
        assert elapsed < 1.0
        revision = response.json()["state"]["revision"]
        assert client.revision >= revision
        # the SDK reported the applied revision at once: a propagation receipt on the change
        assert _wait(lambda: live["cluster"].query(
            "portal", "SELECT instance_id FROM flags_sdkreceipt WHERE revision >= %s", (revision,)) == [
            (client.instance_id,)], 5, step=0.1)
    finally:
        client.stop()


def _first_event(url, token, **headers):
    with httpx.stream("GET", url + STREAM_PATH, params=DEV, timeout=10,
                      headers={"Authorization": f"Bearer {token}", **headers}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in read_events(response.iter_lines()):
            if event.kind not in ("comment", "retry"):
                return event
    raise AssertionError("no event")


def test_last_event_id_of_the_current_snapshot__resumes_without_a_reload(live):
    token = live["tokens"]["reader"]
    first = _first_event(live["stream"].url, token)
    assert first.kind == "snapshot" and first.id
    snapshot = httpx.get(f"{live['portal'].url}/api/v1/flags/snapshot", params=DEV, timeout=10,
                         headers={"Authorization": f"Bearer {token}"})
    assert snapshot.headers["ETag"] == f'"{first.id}"'  # the event id is the snapshot endpoint's ETag

    resumed = _first_event(live["stream"].url, token, **{"Last-Event-ID": first.id})
    assert resumed.kind == "unchanged" and resumed.id == first.id
    assert '"revision"' in resumed.data and "features" not in resumed.data

    outdated = _first_event(live["stream"].url, token, **{"Last-Event-ID": "0" * 40})
    assert outdated.kind == "snapshot" and outdated.id == first.id


def test_a_change__is_streamed_as_a_delta_that_rebuilds_the_signed_snapshot_also_on_resume(live):
    token = live["tokens"]["reader"]
    with httpx.stream("GET", live["stream"].url + STREAM_PATH, params=DEV, timeout=10,
                      headers={"Authorization": f"Bearer {token}"}) as response:
        events = (e for e in read_events(response.iter_lines()) if e.kind not in ("comment", "retry"))
        first = next(events)
        body = json.loads(first.data)
        before = {f["name"]: f["enabled"] for f in body["features"]}[KEY]
        _set(live["portal"], live["tokens"]["writer"], not before)
        delta = next(events)
        # a client that reconnects having missed just that change gets it as the same delta
        missed = _first_event(live["stream"].url, token, **{"Last-Event-ID": first.id})
        assert (missed.kind, missed.id, missed.data) == ("delta", delta.id, delta.data)
    assert delta.kind == "delta" and len(delta.data) < len(first.data)
    change = json.loads(delta.data)
    assert change["base"] == first.id and list(change["features"]) == [KEY]
    rebuilt = apply_delta(body, change)
    assert etag_of(canonical_json(rebuilt)) == delta.id and verify_snapshot(rebuilt, SECRET)
    assert {f["name"]: f["enabled"] for f in rebuilt["features"]}[KEY] is (not before)


@pytest.mark.parametrize(("token", "params", "status"), [
    (None, DEV, 401),
    ("no_scope", DEV, 403),
    ("portal_only", DEV, 403),
    ("reader", {"service": "nope", "environment": "development"}, 404),
    ("reader", {"service": "shop"}, 400),
])
def test_a_request_the_snapshot_would_refuse__is_refused_by_the_stream_with_problem_json(live, token, params,
                                                                                          status):
    headers = {"Authorization": f"Bearer {live['tokens'][token]}"} if token else {}
    response = httpx.get(live["stream"].url + STREAM_PATH, params=params, headers=headers, timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_a_token_restricted_to_the_service__may_stream_it(live):
    assert _first_event(live["stream"].url, live["tokens"]["shop_only"]).kind == "snapshot"


def test_stream_server_down__the_sdk_polls_then_returns_to_the_stream(live, tmp_path):
    stream = live["stream"]
    client = _client(live, stream.url, tmp_path, poll_interval=1.0, stream_max_failures=2)
    try:
        client.start()
        assert _wait(lambda: client.streaming, 10)
        stream.stop()
        assert _wait(lambda: not client.streaming, 2)
        # meanwhile it serves what it had (confirmed by polls), and polling picks up a change
        assert client.source == "portal" and client.evaluate(KEY).error_code is None
        before = client.is_enabled(KEY)
        _set(live["portal"], live["tokens"]["writer"], not before)
        assert _wait(lambda: client.is_enabled(KEY) is (not before), 1.0 + 2.5)  # a poll interval (+ slack)
        assert client.evaluate(KEY).reason != "CACHED" and client.last_error is None

        stream.start()  # same port: the client comes back within a poll interval plus its backoff
        assert _wait(lambda: client.streaming, 5)
        _set(live["portal"], live["tokens"]["writer"], before)
        answered = time.monotonic()
        assert _wait(lambda: client.is_enabled(KEY) is before, 1.0)
        assert time.monotonic() - answered < 1.0
    finally:
        client.stop()
        if stream.process is None or stream.process.poll() is not None:
            stream.start()


def test_a_url_that_answers_no_event_stream__the_sdk_polls(live, tmp_path):
    # a proxy that does not pass the stream: here the portal itself, which has no stream route (404)
    client = _client(live, live["portal"].url, tmp_path, poll_interval=1.0, stream_max_failures=2)
    try:
        client.start()
        assert _wait(lambda: client.last_stream_error is not None, 5)
        assert not client.streaming and "404" in client.last_stream_error
        before = client.is_enabled(KEY)
        _set(live["portal"], live["tokens"]["writer"], not before)
        assert _wait(lambda: client.is_enabled(KEY) is (not before), 3.5)
    finally:
        client.stop()


def test_an_expiry_reverted_by_the_job__is_streamed(live, tmp_path):
    portal, writer = live["portal"], live["tokens"]["writer"]
    _set(portal, writer, False)
    client = _client(live, live["stream"].url, tmp_path)
    try:
        client.start()
        assert _wait(lambda: client.streaming, 10)
        _change(portal, writer, "engage_kill_switch", expires_in_minutes=1)
        assert _wait(lambda: client.is_enabled(KEY), 1.0)
        manage(live["env"], "shell", "-c", "from datetime import timedelta; from django.utils import timezone; "
               "from flags import services; services.revert_expired(now=timezone.now() + timedelta(minutes=2))")
        assert _wait(lambda: not client.is_enabled(KEY), 1.0)
    finally:
        client.stop()


def _fan_out(live, env, tmp_path):
    """A change written by the gunicorn portal reaches SDKs on two other stream processes within a second."""
    portal = Portal(env)
    live["started"].append(portal)
    a, b = StreamServer(env), StreamServer(env)
    live["started"] += [a, b]
    clients = [_client(live, server.url, tmp_path) for server in (a, b)]
    try:
        for client in clients:
            client.start()
        assert _wait(lambda: all(c.streaming for c in clients), 10)
        before = clients[0].is_enabled(KEY)
        _set(portal, live["tokens"]["writer"], not before)
        answered = time.monotonic()
        assert _wait(lambda: all(c.is_enabled(KEY) is (not before) for c in clients), 1.0)
        assert time.monotonic() - answered < 1.0
        return a.health(), b.health()
    finally:
        for client in clients:
            client.stop()


def test_a_change_on_one_process__reaches_the_streams_of_two_others_through_listen_notify(live, tmp_path):
    health = _fan_out(live, live["env"], tmp_path)
    assert {h["broker"] for h in health} == {"postgres"} and health[0]["pid"] != health[1]["pid"]


def test_a_change_on_one_process__reaches_the_streams_of_two_others_through_redis(live, tmp_path):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is expected at {url}: {exc}")
    env = {**live["env"], "REDIS_URL": url}
    health = _fan_out(live, env, tmp_path)
    assert {h["broker"] for h in health} == {"redis"}


def test_a_forked_worker__opens_its_own_stream_and_the_parent_keeps_its_own(live, tmp_path):
    from tests.flags.test_sdk_fork_safety import _run_in_child

    client = _client(live, live["stream"].url, tmp_path)
    try:
        client.start()
        assert _wait(lambda: client.streaming, 10)
        before = client.is_enabled(KEY)
        parent_instance = client.instance_id

        def child() -> dict:
            client.is_enabled(KEY)  # the child's first evaluation starts its own thread and stream
            streaming = _wait(lambda: client.streaming, 10)
            _set(live["portal"], live["tokens"]["writer"], not before)
            answered = time.monotonic()
            applied = _wait(lambda: client.is_enabled(KEY) is (not before), 1.0)
            return {"streaming": streaming, "applied": applied, "after": time.monotonic() - answered,
                    "instance": client.instance_id}

        report = _run_in_child(child)
        assert "error" not in report, report
        assert report["streaming"] and report["applied"] and report["after"] < 1.0
        assert report["instance"] != parent_instance
        assert _wait(lambda: client.is_enabled(KEY) is (not before), 1.0)  # the parent's stream survived the fork
    finally:
        client.stop()
