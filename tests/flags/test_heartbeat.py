"""SDK heartbeats (telemetry) and "applied on N/M instances"."""

from datetime import timedelta

from django.utils import timezone

from flags import queries, services
from flags.models import SdkInstance

URL = "/api/v1/flags/heartbeat"


def test_heartbeat__records_the_instance_without_audit(api, reader, service, production):
    payload = {"instance_id": "web-1", "service": "shop", "environment": "production", "revision": 7,
               "sdk_version": "govctl 0.1"}
    assert api(reader).post(URL, payload, format="json").status_code == 204
    assert api(reader).post(URL, {**payload, "revision": 8}, format="json").status_code == 204
    instance = SdkInstance.objects.get()
    assert (instance.instance_id, instance.revision) == ("web-1", 8)
    assert not hasattr(instance, "history")


def test_unknown_service__is_404(api, reader, db):
    response = api(reader).post(URL, {"instance_id": "x", "service": "nope", "environment": "production"},
                                format="json")
    assert response.status_code == 404


def test_revision_beyond_a_bigint__is_400_on_the_field(api, reader, service, production):
    payload = {"instance_id": "web-1", "service": "shop", "environment": "production", "revision": 2**63}
    response = api(reader).post(URL, payload, format="json")
    assert response.status_code == 400 and "revision" in response.json()["errors"]
    assert not SdkInstance.objects.exists()


def test_applied__counts_recent_instances_on_the_current_revision(service, production, system_user):
    current = queries.current_revision(service=service, environment=production)
    for i in range(4):
        services.record_sdk_heartbeat(instance_id=f"web-{i}", service=service, environment=production,
                                      revision=current if i < 3 else current - 1)
    gone = services.record_sdk_heartbeat(instance_id="old", service=service, environment=production,
                                         revision=current)
    SdkInstance.objects.filter(pk=gone.pk).update(last_seen=timezone.now() - timedelta(hours=1))
    applied = queries.applied(service=service, environment=production)
    assert (applied.current, applied.seen) == (3, 4)
    assert str(applied) == "applied on 3/4 instances"


def test_purge__forgets_instances_silent_past_retention_and_keeps_the_rest(service, production, settings):
    settings.FLAGS_INSTANCE_RETENTION_DAYS = 7
    now = timezone.now()
    for i, age in enumerate([timedelta(days=8), timedelta(days=30), timedelta(days=6), timedelta(minutes=1)]):
        made = services.record_sdk_heartbeat(instance_id=f"pod-{i}", service=service, environment=production,
                                             revision=1)
        SdkInstance.objects.filter(pk=made.pk).update(last_seen=now - age)
    assert services.purge_sdk_instances(now=now, batch=1) == 2  # several batches
    assert sorted(SdkInstance.objects.values_list("instance_id", flat=True)) == ["pod-2", "pod-3"]
    assert services.purge_sdk_instances(now=now) == 0  # idempotent


def test_purge__is_scheduled_daily():
    from governance.schedules import SCHEDULES

    entry = next(s for s in SCHEDULES if s["func"] == "flags.tasks.purge_sdk_instances")
    assert entry["schedule_type"] == "D"
