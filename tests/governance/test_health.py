"""/healthz and /readyz as a load balancer and an operator see them."""

import logging
from datetime import timedelta

from django.utils import timezone

from governance import services
from governance.models import Heartbeat


def test_healthz__answers_without_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz__starting_until_the_first_heartbeat__without_logging_an_error(client, db, caplog):
    Heartbeat.objects.all().delete()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "starting"
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["migrations"]["ok"]
    assert not checks["scheduler"]["ok"] and "no heartbeat" in checks["scheduler"]["detail"]
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_readyz__ready_with_a_fresh_heartbeat(client, db):
    services.record_heartbeat("scheduler")
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ready"


def test_readyz__stale_heartbeat_is_reported_with_its_age(client, db):
    Heartbeat.objects.update_or_create(name="scheduler", defaults={"beat_at": timezone.now() - timedelta(hours=1)})
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "not ready"
    assert "ago" in response.json()["checks"]["scheduler"]["detail"]


def test_heartbeat_task__feeds_readyz(client, db):
    from django_q.tasks import async_task

    Heartbeat.objects.all().delete()
    async_task("governance.tasks.heartbeat")  # sync mode in tests: runs now
    assert client.get("/readyz").status_code == 200
