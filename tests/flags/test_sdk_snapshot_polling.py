"""The SDK fetches the snapshot lazily, revalidates it with ETags and keeps a last-known-good file."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from govctl.sdk import FlagClient

from tests.flags.portal_stub import PortalStub

ON = {"name": "new-checkout", "enabled": True, "strategies": [{"name": "default"}]}
OFF = {**ON, "enabled": False}


def test_import__starts_no_thread() -> None:
    code = "import threading, govctl.sdk, govctl.django_middleware, govctl.flags.provider; print(threading.active_count())"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert output.strip() == "1"


def test_client_construction__does_not_contact_the_portal(portal: PortalStub, make_client) -> None:
    portal.publish([ON], revision=1)

    make_client()

    assert portal.requests == []


def test_first_evaluation__fetches_the_snapshot_for_service_and_environment(portal: PortalStub, make_client) -> None:
    portal.publish([ON], revision=7)
    client = make_client()

    result = client.evaluate("new-checkout")

    assert (result.enabled, result.reason, result.revision) == (True, "STATIC", 7)
    assert portal.queries == [{"service": ["shop"], "environment": ["production"]}]


def test_unchanged_snapshot__portal_answers_304_and_the_state_is_kept(portal: PortalStub, make_client) -> None:
    portal.publish([ON], revision=1)
    client = make_client(poll_interval=0)
    client.is_enabled("new-checkout")

    assert client.refresh() is True
    assert client.is_enabled("new-checkout") is True
    assert portal.count("GET", "/snapshot", 304) >= 2
    assert portal.count("GET", "/snapshot", 200) == 1


def test_changed_snapshot__is_used_after_the_next_poll(portal: PortalStub, make_client) -> None:
    portal.publish([ON], revision=1)
    client = make_client(poll_interval=0)
    assert client.is_enabled("new-checkout") is True

    portal.publish([OFF], revision=2)

    assert client.is_enabled("new-checkout") is False
    assert client.revision == 2


def test_background_poller__picks_up_a_change_without_requests(portal: PortalStub, make_client) -> None:
    portal.publish([ON], revision=1)
    client = make_client(background=True, poll_interval=0.05)
    client.start()
    portal.publish([OFF], revision=2)

    deadline = time.monotonic() + 5
    while client.revision != 2 and time.monotonic() < deadline:
        time.sleep(0.01)

    assert client.revision == 2


def test_successful_fetch__writes_the_last_known_good_file_atomically(portal, make_client, tmp_path) -> None:
    body = portal.publish([ON], revision=3)
    client = make_client()

    client.start()

    assert json.loads((tmp_path / "flags-lkg.json").read_text()) == body
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flags-lkg.json"]


def test_snapshot_with_a_bad_signature__is_refused(portal: PortalStub, make_client, tmp_path) -> None:
    portal.publish([ON], revision=1, sign=False)
    client = make_client(failure_modes={"new-checkout": "fail_closed"})

    result = client.evaluate("new-checkout")

    assert (result.enabled, result.reason, result.error_code) == (False, "ERROR", "GENERAL")
    assert "signature" in (client.last_error or "")
    assert not (tmp_path / "flags-lkg.json").exists()


def test_wrong_token__is_reported_and_falls_back(portal: PortalStub, make_client) -> None:
    portal.publish([ON], revision=1)
    client = make_client(token="wrong", failure_modes={"new-checkout": "fail_open"})

    result = client.evaluate("new-checkout")

    assert (result.enabled, result.error_code) == (True, "GENERAL")
    assert "401" in (client.last_error or "")


def test_heartbeat__posted_at_most_once_per_poll_interval(portal: PortalStub, make_client) -> None:
    portal.publish([ON], revision=5)
    client = make_client(poll_interval=60)
    client.start()

    for _ in range(3):
        client.refresh()

    assert portal.count("GET", "/snapshot") == 4
    assert len(portal.heartbeats) == 1
    beat = portal.heartbeats[0]
    assert set(beat) == {"instance_id", "service", "environment", "revision", "sdk_version", "capabilities"}
    assert beat["capabilities"] == []  # no chaos hook loaded: a bare client is not drillable
    assert (beat["service"], beat["environment"], beat["revision"]) == ("shop", "production", 5)
    assert beat["instance_id"] == client.instance_id


def test_from_env__reads_the_governance_variables(tmp_path) -> None:
    client = FlagClient.from_env(
        {
            "GOVERNANCE_URL": "http://127.0.0.1:1",
            "GOVERNANCE_TOKEN": "t",
            "GOVERNANCE_SERVICE": "shop",
            "GOVERNANCE_ENVIRONMENT": "preview",
            "GOVERNANCE_FLAGS_LKG": str(tmp_path / "lkg.json"),
            "GOVERNANCE_FLAGS_POLL_INTERVAL": "30",
        }
    )

    assert (client.service, client.environment, client.poll_interval) == ("shop", "preview", 30.0)
    assert client.lkg_path == tmp_path / "lkg.json"
