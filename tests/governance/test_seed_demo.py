"""seed_demo: idempotent, prints the admin password once, and that password logs in."""

import re
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command

from governance.models import Environment, Service


def test_seed_demo__is_idempotent_and_prints_the_password_once(db, client, capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    shown = re.search(r"password '([^']+)'", first)
    assert shown is not None
    password = shown.group(1)
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert password not in second and "shown once" not in second
    assert "exists; password unchanged" in second
    assert Service.objects.filter(slug="shop").count() == 1
    assert list(Environment.objects.values_list("slug", flat=True)) == ["development", "preview", "production"]
    user = get_user_model().objects.get(username="admin")
    assert user.groups.filter(name="Administrator").exists()
    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": password})
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_seed_demo__a_bad_service_slug_is_a_message_and_writes_nothing(db):
    import pytest
    from django.core.management import CommandError

    services_before = Service.objects.count()
    with pytest.raises(CommandError, match="slug"):
        call_command("seed_demo", service="Not A Slug", admin_username="demo-admin")
    assert Service.objects.count() == services_before
    assert not get_user_model().objects.filter(username="demo-admin").exists()


def test_seed_demo__gives_every_screen_data_and_adds_nothing_the_second_time(db, capsys):
    from flags.models import ChangeRequest
    from observability.models import SloAlert
    from recovery.models import Drill
    from releases.models import Check, Release
    from schemaplans.models import Backfill

    call_command("seed_demo")
    first = capsys.readouterr().out
    assert "Demo logins (shown once; two per role)" in first
    for role in ("Operator", "Release manager", "Auditor", "Maintenance admin"):
        assert get_user_model().objects.filter(groups__name=role).count() == 2
    counts = lambda: (Release.objects.count(), Check.objects.count(), ChangeRequest.objects.count(),  # noqa: E731
                      Drill.objects.count(), Backfill.objects.count(), get_user_model().objects.count())
    before = counts()
    assert dict(Release.objects.values_list("version", "state"))["1.0.0"] == "live"
    assert Check.objects.filter(name="security-scan", status="failure").exists()
    assert ChangeRequest.objects.filter(status="pending").exists()
    assert SloAlert.objects.filter(resolved_at__isnull=True).exists()  # the burn opened alerts
    assert Drill.objects.filter(kind="pitr").exists() and Backfill.objects.exists()
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert "Demo logins" not in second
    assert counts() == before
    from flags.models import SdkInstance

    fleet = dict(SdkInstance.objects.values_list("instance_id", "revision"))  # heartbeats refreshed, not added
    assert len(fleet) == 3 and fleet["shop-worker-1"] == (fleet["shop-web-1"] or 0) - 1


def test_seed_demo_accounts__are_in_the_audit_trail(db):
    from governance.models import AuditEvent

    call_command("seed_demo", stdout=StringIO())

    created = set(AuditEvent.objects.filter(model="auth.user", change="+").values_list("object_repr", flat=True))
    assert {"admin", "olga", "audrey"} <= created
