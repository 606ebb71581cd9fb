"""The secrets inventory: never a value, rotations recorded with a reason, overdue alerted once per period."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from access import services
from access.models import Secret, SecretRotation
from governance.services import system_user


@pytest.fixture
def secret(service):
    return services.create_secret(
        service=service, name="STRIPE_API_KEY", location="vault:kv/shop/stripe (env STRIPE_API_KEY on shop hosts)",
        owner="payments team", last_rotated_at=timezone.now() - timedelta(days=10), max_age_days=90,
        runbook_url="https://runbooks.example/stripe-rotation", actor=system_user(), reason="inventory")


def test_model__has_no_field_for_a_value():
    names = {f.name for f in Secret._meta.get_fields()}
    assert not names & {"value", "secret", "password", "token", "plaintext", "ciphertext"}


def test_a_value_pasted_as_location__is_refused(service):
    with pytest.raises(ValidationError, match="looks like a secret value"):
        services.create_secret(service=service, name="DB", location="postgres://shop:hunter2@db/shop", owner="x",
                               last_rotated_at=timezone.now(), max_age_days=30, runbook_url="docs/RUNBOOK.md",
                               actor=system_user(), reason="inventory")


def test_api__refuses_a_value_and_stores_nothing(make_token, service):
    client = Client()
    token = make_token("secrets:write")
    body = {"service": "shop", "name": "STRIPE_API_KEY", "location": "vault:kv/shop/stripe", "owner": "payments",
            "last_rotated_at": timezone.now().isoformat(), "max_age_days": 90, "runbook_url": "docs/RUNBOOK.md",
            "reason": "inventory", "value": "sk_live_123"}
    answer = client.post("/api/v1/secrets", body, content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 400
    assert "never stores a secret's value" in str(answer.json()["errors"]["value"])
    assert not Secret.objects.exists()
    del body["value"]
    created = client.post("/api/v1/secrets", body, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {token}")
    assert created.status_code == 201 and "value" not in created.json()
    assert created.json()["due_at"] and created.json()["overdue"] is False


def test_api__records_a_rotation_with_its_reason(make_token, secret):
    client = Client()
    answer = client.post(f"/api/v1/secrets/{secret.pk}/rotations", {"reason": "yearly rotation"},
                         content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {make_token('secrets:write')}")
    assert answer.status_code == 201
    rotation = SecretRotation.objects.get(secret=secret)
    assert rotation.reason == "api (ci): yearly rotation" and rotation.recorded_by.username == "ci-bot"
    assert rotation.previous_rotated_at == secret.last_rotated_at
    read = client.get("/api/v1/secrets?service=shop", HTTP_AUTHORIZATION=f"Bearer {make_token('audit:read')}")
    assert read.status_code == 200 and read.json()[0]["last_rotated_at"] == answer.json()["last_rotated_at"]


def test_api__a_read_token_may_not_record(make_token, secret):
    answer = Client().post(f"/api/v1/secrets/{secret.pk}/rotations", {"reason": "x"}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {make_token('audit:read')}")
    assert answer.status_code == 403 and not SecretRotation.objects.exists()


def test_rotation__is_audited_with_actor_and_reason(secret, administrator):
    services.record_rotation(secret=secret, actor=administrator, reason="leaked in a log line")
    record = secret.history.latest()
    assert (record.history_user, record.history_change_reason) == (administrator, "leaked in a log line")


def test_rotation_in_the_future_or_before_the_last__is_refused(secret):
    with pytest.raises(ValidationError, match="future"):
        services.record_rotation(secret=secret, actor=system_user(), reason="x",
                                 rotated_at=timezone.now() + timedelta(days=1))
    with pytest.raises(ValidationError, match="Before the last recorded rotation"):
        services.record_rotation(secret=secret, actor=system_user(), reason="x",
                                 rotated_at=secret.last_rotated_at - timedelta(days=1))


def test_overdue__alerts_once_per_overdue_period(secret, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.WARNING, logger="governance.notifications.routing")
    later = timezone.now() + timedelta(days=85)  # 95 days after the last rotation: overdue
    with django_capture_on_commit_callbacks(execute=True):
        assert services.check_overdue_secrets(now=timezone.now()) == []
        assert [s.pk for s in services.check_overdue_secrets(now=later)] == [secret.pk]
        assert services.check_overdue_secrets(now=later + timedelta(days=1)) == []  # same period: no repeat
    alerts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("alert: Secret overdue")]
    assert len(alerts) == 1 and "STRIPE_API_KEY" in alerts[0] and "payments team" in alerts[0]
    # A rotation starts a new period; when that one runs out, it alerts again.
    services.record_rotation(secret=secret, actor=system_user(), reason="rotated")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.check_overdue_secrets(now=later) == []
        assert [s.pk for s in services.check_overdue_secrets(now=timezone.now() + timedelta(days=91))] == [secret.pk]


def test_admin_rotation__confirms_with_a_reason(secret, make_user):
    client = Client()
    client.force_login(make_user("maria", "Maintenance admin"))
    url = "/admin/access/secret/"
    page = client.post(url, {"action": "record_rotation", "_selected_action": [secret.pk]})
    assert b"No value is entered here" in page.content and not SecretRotation.objects.exists()
    client.post(url, {"action": "record_rotation", "_selected_action": [secret.pk], "confirm": "1",
                      "reason": "quarterly rotation"})
    assert SecretRotation.objects.get(secret=secret).reason == "admin: quarterly rotation"
    assert client.get(url).status_code == 200


def test_operator__may_not_record_a_rotation(secret, operator):
    client = Client()
    client.force_login(operator)
    client.post("/admin/access/secret/", {"action": "record_rotation", "_selected_action": [secret.pk],
                                          "confirm": "1", "reason": "x"})
    assert not SecretRotation.objects.exists()


def test_seed_demo__adds_the_inventory_and_the_portal_policy(db):
    from django.core.management import call_command

    from access.models import AccessPolicy

    call_command("seed_demo")
    overdue = [str(s) for s in Secret.objects.all() if s.is_overdue()]
    assert overdue == ["shop: STRIPE_API_KEY"]
    assert AccessPolicy.objects.get(target__name="portal-db").document["owner"] == "governance_migrator"


def test_evidence_section__lists_the_inventory_and_the_rotations_never_values(secret):
    import json

    from access import evidence

    services.record_rotation(secret=secret, actor=system_user(), reason="quarterly")
    now = timezone.now()
    files = evidence.secrets_inventory(start=now - timedelta(hours=1), end=now + timedelta(hours=1), service=None)
    inventory = json.loads(files["secrets.json"])
    assert [(s["name"], s["owner"], s["max_age_days"]) for s in inventory] == [("STRIPE_API_KEY", "payments team", 90)]
    assert not {"value", "secret"} & set(inventory[0])
    assert json.loads(files["rotations.json"])[0]["reason"] == "quarterly"
