"""GET /metrics for the flag plane: answers served by endpoint and by the layer that answered, the current revision,
and the SDK instances by the revision they serve (an operator graphs propagation and a fleet stuck on old flags)."""

from datetime import timedelta

from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from flags import services as flag_services
from flags.models import SdkInstance


def _samples(client, name: str) -> dict[tuple, float]:
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").content.decode())}
    return {tuple(sorted(s.labels.items())): s.value for s in families[name].samples if s.name == name + "_total"
            or s.name == name}


def _served(client) -> dict[tuple[str, str], float]:
    return {(dict(k)["endpoint"], dict(k)["source"]): v
            for k, v in _samples(client, "governance_flag_snapshots_served").items()}


def test_flag_answers__counted_by_endpoint_and_source(client, make_flag, reader, service, production):
    make_flag("checkout-v2")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {reader}"}
    target = {"service": service.slug, "environment": production.slug}
    before = _served(client)

    first = client.get("/api/v1/flags/snapshot", target, **auth)
    again = client.get("/api/v1/flags/snapshot", target, HTTP_IF_NONE_MATCH=first["ETag"], **auth)
    client.post("/api/v1/flags/evaluate", {**target, "context": {}}, content_type="application/json", **auth)
    client.post("/ofrep/v1/evaluate/flags/checkout-v2", {"context": {"targetingKey": "u1"}},
                content_type="application/json", HTTP_X_GOVERNANCE_SERVICE=service.slug,
                HTTP_X_GOVERNANCE_ENVIRONMENT=production.slug, **auth)

    assert (first.status_code, again.status_code) == (200, 304)
    after = _served(client)
    delta = {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}
    sources = {first["X-Flags-Source"], again["X-Flags-Source"]}
    assert sum(v for (endpoint, _), v in delta.items() if endpoint == "snapshot") == 2  # a 304 is an answer too
    assert {source for (endpoint, source) in delta if endpoint == "snapshot"} == sources
    assert sum(delta.get(("evaluate", s), 0) for s in ("database", "cache", "memory")) == 1
    assert sum(v for (endpoint, _), v in delta.items() if endpoint == "ofrep") == 1


def test_sdk_instances__by_revision_with_the_laggards_marked(client, make_flag, service, production, force, state_of):
    flag = make_flag("checkout-v2")
    old = state_of(flag, "production").revision
    for name in ("web-1", "web-2"):
        flag_services.record_sdk_heartbeat(instance_id=name, service=service, environment=production, revision=old)
    force(state_of(flag, "production"), {"enabled": True})
    new = state_of(flag, "production").revision
    flag_services.record_sdk_heartbeat(instance_id="web-1", service=service, environment=production, revision=new)
    gone = flag_services.record_sdk_heartbeat(instance_id="web-9", service=service, environment=production,
                                              revision=old)
    SdkInstance.objects.filter(pk=gone.pk).update(last_seen=timezone.now() - timedelta(hours=2))  # left long ago

    revision = _samples(client, "governance_flag_revision")
    instances = _samples(client, "governance_flag_sdk_instances")

    key = (("environment", production.slug), ("service", service.slug))
    assert new > old and revision[key] == new
    assert instances[(("current", "true"), *key[:1], ("revision", str(new)), *key[1:])] == 1
    assert instances[(("current", "false"), *key[:1], ("revision", str(old)), *key[1:])] == 1  # web-2 lags; not web-9


def test_revision__is_the_one_the_snapshot_serves_chaos_faults_included(client, make_flag, service, preview,
                                                                        system_user, state_of):
    from chaos import services as chaos_services
    from flags import snapshots

    flag = make_flag("checkout-v2")
    before_fault = state_of(flag, "preview").revision
    flag_services.record_sdk_heartbeat(instance_id="web-1", service=service, environment=preview,
                                       revision=before_fault)
    chaos_services.create_fault(service=service, environment=preview, kind="http_latency", ttl_seconds=300,
                                actor=system_user, reason="drill")  # the snapshot's revision moves with it
    served = snapshots.build(service, preview)["body"]["revision"]

    revision = _samples(client, "governance_flag_revision")
    instances = _samples(client, "governance_flag_sdk_instances")

    key = (("environment", preview.slug), ("service", service.slug))
    assert served > before_fault and revision[key] == served
    assert instances[(("current", "false"), *key[:1], ("revision", str(before_fault)), *key[1:])] == 1
