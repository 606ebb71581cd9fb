"""/healthz and /readyz as a load balancer and an operator see them."""

from datetime import timedelta

from django.utils import timezone

from governance import services
from governance.models import Heartbeat


def test_healthz__answers_without_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz__not_ready_until_the_scheduler_beats(client, db):
    Heartbeat.objects.all().delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["migrations"]["ok"]
    assert not checks["scheduler"]["ok"] and "no heartbeat" in checks["scheduler"]["detail"]


def test_readyz__ready_with_a_fresh_heartbeat(client, db):
    services.record_heartbeat("scheduler")
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ready"


def test_readyz__stale_heartbeat_is_reported_with_its_age(client, db):
    Heartbeat.objects.update_or_create(name="scheduler", defaults={"beat_at": timezone.now() - timedelta(hours=1)})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "ago" in response.json()["checks"]["scheduler"]["detail"]


def test_heartbeat_task__feeds_readyz(client, db):
    from django_q.tasks import async_task

    Heartbeat.objects.all().delete()
    async_task("governance.tasks.heartbeat")  # sync mode in tests: runs now
    assert client.get("/readyz").status_code == 200
