"""For real: the flag signing key is rotated under a running gunicorn portal (SIGHUP re-reads its config file,
no restart) while SDK clients poll it. docs/SECURITY.md, "Rotating the flag signing key", step by step:

1. add the new key to the SDKs' key set; 2. the portal signs with the new key (both in its set);
3. the old key leaves the portal and the SDKs. An SDK kept on the old set reports which key it lacks and keeps
serving the snapshot it had.
"""

import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from govctl.sdk import FlagClient

from tests.flags.live_portal import Cluster, Portal, StreamServer, manage

# gunicorn's SIGHUP stops the old workers as it forks the new ones: requests wait in the listen backlog while the
# new workers import Django (seconds on a loaded machine). They are answered, late: the clients wait that long.
TIMEOUT = 60
OLD, NEW = ("2026-01", "old-secret-0123456789"), ("2026-07", "new-secret-9876543210")


def _config(path: Path, keys: list[tuple[str, str]], current: str) -> None:
    env = [f"FLAGS_SIGNING_KEYS={','.join(f'{k}:{s}' for k, s in keys)}", f"FLAGS_SIGNING_KEY_ID={current}"]
    path.write_text(f"raw_env = {env!r}\n")


@pytest.fixture(scope="module")
def rotation_setup():
    cluster = Cluster()
    work = Path(tempfile.mkdtemp(prefix="gov-rotation-"))
    portal = None
    try:
        cluster.start()
        cluster.create_database("portal")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "DEBUG": "true", "REDIS_URL": "",
               "DATABASE_URL": cluster.url("portal"), "FLAGS_LKG_DIR": str(work / "lkg"), "CONN_MAX_AGE": "0",
               "FLAGS_MEMORY_TTL_SECONDS": "0.2"}
        for name in ("FLAGS_SIGNING_KEYS", "FLAGS_SIGNING_KEY_ID", "FLAGS_SIGNING_SECRET"):
            env.pop(name, None)
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        manage(env, "create_service_account", "ci-bot", "--description", "rotation test", "--reason", "set-up")
        token = manage(env, "create_token", "--name", "shop sdk", "--owner", "ci-bot", "--scope", "flags:read",
                       "--reason", "rotation test").stdout.strip()
        writer = manage(env, "create_token", "--name", "ops", "--owner", "ci-bot", "--scope", "flags:write",
                        "--scope", "flags:read", "--reason", "rotation test").stdout.strip()
        config = work / "gunicorn.conf.py"
        _config(config, [OLD], OLD[0])
        portal = Portal(env, workers=2, threads=2, config=config)
        yield portal, config, token, work, env, writer
    finally:
        if portal is not None:
            portal.stop()
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


class _Problems(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def _raw(client: FlagClient) -> Mapping[str, Any]:
    loaded = client._loaded
    assert loaded is not None
    return loaded.state.raw


def _sdk(portal, token, keys, lkg: Path) -> FlagClient:
    client = FlagClient(url=portal.url, token=token, service="shop", environment="production", poll_interval=0.2,
                        stream=False, signing_secret=keys, lkg_path=lkg, heartbeat=False, timeout=TIMEOUT)
    client.start()
    return client


def _served_kid(portal, token) -> str | None:
    response = httpx.get(f"{portal.url}/api/v1/flags/snapshot", params={"service": "shop", "environment": "production"},
                         headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json().get("kid")


def _reload(portal, config, token, keys, current) -> None:
    """SIGHUP: gunicorn re-reads the config file and replaces its workers gracefully; wait until every answer
    carries the new key id (old workers finish their requests meanwhile)."""
    _config(config, keys, current)
    os.kill(portal.process.pid, signal.SIGHUP)
    deadline, streak, slowest = time.monotonic() + 120, 0, 0.0
    while streak < 10:
        assert time.monotonic() < deadline, f"the portal still signs with another key: {portal.log.read_text()[-2000:]}"
        started = time.monotonic()
        streak = streak + 1 if _served_kid(portal, token) == current else 0
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.05)
    print(f"rotation reload to {current}: slowest snapshot request {slowest:.2f} s")


def _watch(clients, seconds: float) -> list[str]:
    """Sample the clients while the portal changes: every answer must be fresh and every poll verified."""
    problems = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for name, client in clients.items():
            result = client.evaluate("maintenance_mode", {"userId": "1"}, default=True)
            if client.source != "portal" or result.reason in ("STALE", "CACHED", "ERROR") or client.last_error:
                problems.append(f"{name}: source {client.source}, reason {result.reason}, error {client.last_error}")
        time.sleep(0.02)
    return problems


def test_rotation__portal_switches_keys_under_a_polling_sdk_without_a_failed_verification(rotation_setup):
    portal, config, token, work, _env, _writer = rotation_setup
    _reload(portal, config, token, [OLD], OLD[0])
    log = _Problems()
    logging.getLogger("govctl.sdk").addHandler(log)
    sdk = _sdk(portal, token, {OLD[0]: OLD[1]}, work / "sdk.json")
    laggard = _sdk(portal, token, {OLD[0]: OLD[1]}, work / "laggard.json")
    try:
        assert sdk.source == "portal" and _raw(sdk)["kid"] == OLD[0]
        assert _watch({"sdk": sdk, "laggard": laggard}, 0.5) == []

        # 1. the SDKs learn the new key (a config change of theirs); the laggard does not
        sdk.set_signing_keys({OLD[0]: OLD[1], NEW[0]: NEW[1]})
        assert _watch({"sdk": sdk}, 0.5) == []

        # 2. the portal signs with the new key, the old one still in its set; workers replaced by SIGHUP
        laggard_before = _raw(laggard)
        _reload(portal, config, token, [OLD, NEW], NEW[0])
        assert _watch({"sdk": sdk}, 1.0) == []
        assert _raw(sdk)["kid"] == NEW[0]

        # the laggard says what it lacks and keeps serving what it had (not the last-known-good file)
        assert f"signed with key '{NEW[0]}', which this client does not know" in (laggard.last_error or "")
        assert laggard.source == "portal" and _raw(laggard) is laggard_before
        answer = laggard.evaluate("maintenance_mode", {"userId": "1"}, default=True)
        assert answer.value is False and answer.error_code is None

        # 3. the old key leaves the portal, then the SDKs
        _reload(portal, config, token, [NEW], NEW[0])
        sdk.set_signing_keys({NEW[0]: NEW[1]})
        assert _watch({"sdk": sdk}, 1.0) == []
        assert [m for m in log.messages if "laggard" not in m and "does not know" not in m] == []
    finally:
        logging.getLogger("govctl.sdk").removeHandler(log)
        sdk.stop()
        laggard.stop()


def _flip(portal, writer, on: bool) -> None:
    response = httpx.post(f"{portal.url}/api/v1/flags/shop/development/kill_switch_api/changes", timeout=TIMEOUT,
                          headers={"Authorization": f"Bearer {writer}"},
                          json={"operation": "engage_kill_switch" if on else "disengage_kill_switch",
                                "reason": "rotation test"})
    assert response.status_code == 200, response.text


def _until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_rotation__a_streaming_sdk_verifies_snapshots_and_deltas_across_the_switch(rotation_setup):
    """The stream server (uvicorn) signs too: it restarts with the new key; the SDK polls meanwhile, resumes the
    stream and verifies the deltas signed with the new key."""
    portal, config, token, work, env, writer = rotation_setup
    _reload(portal, config, token, [OLD], OLD[0])
    keys = {"FLAGS_SIGNING_KEYS": f"{OLD[0]}:{OLD[1]}", "FLAGS_SIGNING_KEY_ID": OLD[0],
            "FLAGS_STREAM_HEARTBEAT_SECONDS": "1"}
    stream = StreamServer({**env, **keys})
    log = _Problems()
    logging.getLogger("govctl.sdk").addHandler(log)
    client = FlagClient(url=portal.url, stream_url=stream.url, token=token, service="shop", environment="development",
                        poll_interval=30, signing_secret={OLD[0]: OLD[1]}, lkg_path=work / "streaming.json",
                        heartbeat=False, timeout=TIMEOUT)
    try:
        client.start()
        assert _until(lambda: client.streaming, 30), client.last_stream_error
        client.set_signing_keys({OLD[0]: OLD[1], NEW[0]: NEW[1]})  # step 1
        _flip(portal, writer, True)
        assert _until(lambda: client.is_enabled("kill_switch_api") is True, 10)  # a delta signed with the old key

        # step 2: the portal and the stream server sign with the new key
        _reload(portal, config, token, [OLD, NEW], NEW[0])
        stream.stop()
        stream.env = {**env, **keys, "FLAGS_SIGNING_KEYS": f"{OLD[0]}:{OLD[1]},{NEW[0]}:{NEW[1]}",
                      "FLAGS_SIGNING_KEY_ID": NEW[0]}
        stream.start()
        assert _until(lambda: client.streaming and _raw(client).get("kid") == NEW[0], 60), client.last_stream_error
        _flip(portal, writer, False)
        assert _until(lambda: client.is_enabled("kill_switch_api") is False, 10)  # a delta signed with the new key
        assert _raw(client)["kid"] == NEW[0] and client.source == "portal" and client.last_error is None
        rejected = [m for m in log.messages if "Rejected" in m or "verify" in m or "does not know" in m]
        assert rejected == []
    finally:
        logging.getLogger("govctl.sdk").removeHandler(log)
        client.stop()
        stream.stop()
