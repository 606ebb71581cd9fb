"""The SDK announces applied changes: its listeners, and OpenFeature's PROVIDER_CONFIGURATION_CHANGED."""

from __future__ import annotations

from govctl.flags.streaming import read_events
from govctl.openfeature_provider import GovernanceOpenFeatureProvider
from openfeature import api
from openfeature.event import ProviderEvent

ON = {"name": "kill_switch_api", "enabled": True, "strategies": [{"name": "default"}]}
OFF = {**ON, "enabled": False}
OTHER = {"name": "beta", "enabled": True, "strategies": [{"name": "default"}]}


def test_a_new_snapshot_with_a_changed_flag__emits_configuration_changed_naming_it(portal, make_client):
    portal.publish([OFF, OTHER], revision=7)
    client = make_client()
    provider = GovernanceOpenFeatureProvider(client)
    seen: list = []
    api.set_provider(provider)
    api.add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, seen.append)
    try:
        assert client.refresh() is True and seen == []  # the first snapshot is readiness, not a change
        portal.publish([ON, OTHER], revision=8)
        assert client.refresh() is True
        assert [(d.flags_changed, d.metadata) for d in seen] == [(["kill_switch_api"], {"revision": "8"})]
        assert client.refresh() is True and len(seen) == 1  # a 304 changes nothing
    finally:
        api.remove_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, seen.append)
        api.clear_providers()


def test_a_listener_that_raises__does_not_stop_the_change_from_applying(portal, make_client):
    portal.publish([OFF], revision=1)
    client = make_client()
    assert client.refresh()
    client.on_change(lambda *_: 1 / 0)
    portal.publish([ON], revision=2)
    assert client.refresh() and client.is_enabled("kill_switch_api") is True


def test_event_stream_lines__parse_into_events_comments_and_retry():
    lines = ["retry: 2000", "", "id: abc", "event: snapshot", "data: {\"a\":", "data: 1}", "", ": heartbeat 5", "",
             "event: unchanged", "data: {}", ""]
    events = list(read_events(lines))
    assert [(e.kind, e.data, e.id, e.retry_ms) for e in events] == [
        ("retry", "", None, 2000), ("snapshot", '{"a":\n1}', "abc", None), ("comment", "heartbeat 5", None, None),
        ("unchanged", "{}", "abc", None)]
