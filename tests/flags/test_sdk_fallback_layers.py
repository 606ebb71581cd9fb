"""When the portal is unreachable: in-process snapshot (CACHED), last-known-good file (STALE),
then the flag's declared failure mode (ERROR / GENERAL)."""

from __future__ import annotations

import time

from tests.flags.portal_stub import PortalStub


def _flag(name: str, enabled: bool, failure_mode: str | None = None, **extra) -> dict:
    flag = {"name": name, "enabled": enabled, "strategies": [{"name": "default"}], **extra}
    if failure_mode:
        flag["failureMode"] = failure_mode
    return flag


FLAGS = [
    _flag("lkg-on", True, "last_known_good"),
    _flag("undeclared-on", True),
    _flag("closed-on", True, "fail_closed"),
    _flag("open-off", False, "fail_open"),
    _flag(
        "banner",
        True,
        "last_known_good",
        valueType="string",
        variants=[{"name": "spring", "weight": 1000, "payload": {"type": "string", "value": "Spring sale"}}],
    ),
]


def _seed_lkg_then_stop_portal(portal: PortalStub, make_client) -> None:
    portal.publish(FLAGS, revision=41)
    make_client().start()
    portal.close()


def test_portal_down_at_start__flags_come_from_the_lkg_file_as_stale(portal, make_client) -> None:
    _seed_lkg_then_stop_portal(portal, make_client)
    client = make_client()

    result = client.evaluate("lkg-on")

    assert (result.enabled, result.reason, result.error_code, result.revision) == (True, "STALE", None, 41)
    assert client.source == "lkg"
    assert client.get_value("banner", default="") == "Spring sale"


def test_flag_without_declared_failure_mode__is_served_from_the_lkg_file(portal, make_client) -> None:
    _seed_lkg_then_stop_portal(portal, make_client)

    result = make_client().evaluate("undeclared-on")

    assert (result.enabled, result.reason) == (True, "STALE")


def test_fail_closed_flag__is_off_with_a_general_error_rather_than_stale(portal, make_client) -> None:
    _seed_lkg_then_stop_portal(portal, make_client)
    client = make_client()

    result = client.evaluate("closed-on")

    assert (result.enabled, result.value, result.reason, result.error_code) == (False, False, "ERROR", "GENERAL")
    assert client.is_enabled("closed-on", default=True) is False


def test_fail_open_flag__is_on_with_a_general_error(portal, make_client) -> None:
    _seed_lkg_then_stop_portal(portal, make_client)
    client = make_client()

    result = client.evaluate("open-off")

    assert (result.enabled, result.value, result.reason, result.error_code) == (True, True, "ERROR", "GENERAL")
    assert client.is_enabled("open-off") is True


def test_no_lkg_file__uses_failure_modes_given_to_the_client(portal: PortalStub, make_client) -> None:
    portal.close()
    client = make_client(failure_modes={"kill_switch_api": "fail_open", "new-search": "fail_closed"})

    assert client.is_enabled("kill_switch_api") is True
    assert client.is_enabled("new-search", default=True) is False
    assert client.evaluate("kill_switch_api").error_code == "GENERAL"


def test_no_lkg_file_and_no_declared_mode__answers_the_callers_default(portal: PortalStub, make_client) -> None:
    portal.close()
    client = make_client()

    assert client.is_enabled("anything", default=True) is True
    assert client.is_enabled("anything", default=False) is False
    assert client.get_value("banner", default="fallback") == "fallback"
    assert client.evaluate("anything").reason == "ERROR"


def test_portal_lost_after_a_fetch__in_process_snapshot_answers_as_cached(portal: PortalStub, make_client) -> None:
    portal.publish(FLAGS, revision=9)
    client = make_client(poll_interval=0.2, timeout=0.2)
    assert client.evaluate("closed-on").reason == "STATIC"
    portal.close()

    time.sleep(0.5)
    result = client.evaluate("closed-on")

    assert (result.enabled, result.reason, result.revision) == (True, "CACHED", 9)
    assert client.last_error is not None


def test_portal_back_after_an_outage__answers_fresh_again(portal: PortalStub, make_client, tmp_path) -> None:
    _seed_lkg_then_stop_portal(portal, make_client)
    client = make_client(poll_interval=0)
    assert client.evaluate("lkg-on").reason == "STALE"

    revived = PortalStub()
    try:
        revived.publish(FLAGS, revision=42)
        client.url = revived.url
        client.stop()  # drop the HTTP client bound to the old address

        result = client.evaluate("lkg-on")
    finally:
        revived.close()

    assert (result.reason, result.revision, client.source) == ("STATIC", 42, "portal")
