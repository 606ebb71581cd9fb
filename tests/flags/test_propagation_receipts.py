"""Propagation receipts: which SDK instances applied a change, and when, shown on the flag state."""

from flags import queries, services
from flags.models import FlagState, SdkReceipt

URL = "/api/v1/flags/heartbeat"


def _kill_switch(service, production):
    return FlagState.objects.select_related("flag").get(flag__service=service, flag__key="kill_switch_api",
                                                        environment=production)


def test_heartbeats__leave_one_receipt_per_new_revision(api, reader, service, production):
    payload = {"instance_id": "web-1", "service": "shop", "environment": "production", "revision": 7}
    for revision in (7, 7, 8, 8):
        assert api(reader).post(URL, {**payload, "revision": revision}, format="json").status_code == 204
    assert list(SdkReceipt.objects.values_list("instance_id", "revision")) == [("web-1", 7), ("web-1", 8)]


def test_a_change__lists_the_instances_that_applied_it_and_not_the_others(service, production, system_user, force):
    state = force(_kill_switch(service, production), {"enabled": True})
    for name, revision in (("web-1", state.revision), ("web-2", state.revision + 5), ("web-3", state.revision - 1)):
        services.record_sdk_heartbeat(instance_id=name, service=service, environment=production, revision=revision)
    found = queries.propagation(state)
    assert [instance for instance, _ in found.receipts] == ["web-1", "web-2"]
    assert str(found) == "applied on 2/3 instances"
    assert all(at >= state.updated_at for _, at in found.receipts)


def test_flag_state_page__shows_the_propagation_of_its_revision(client, make_user, service, production, force):
    state = force(_kill_switch(service, production), {"enabled": True})
    services.record_sdk_heartbeat(instance_id="web-1", service=service, environment=production,
                                  revision=state.revision)
    client.force_login(make_user("root", superuser=True))
    page = client.get(f"/admin/flags/flagstate/{state.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "applied on 1/1 instances" in text and "web-1:" in text
