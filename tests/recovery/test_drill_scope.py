"""A drill says what it proved: a PITR drill is a mechanism self-test, never evidence about the target's backups."""

import pytest
from django.urls import reverse

from recovery.models import BackupTarget, Drill


@pytest.fixture
def target(system_user, tmp_path):
    # No database behind it: these tests read labels only (the shared `target` fixture creates a real source
    # database whose fixed name other test runs on the same server may hold at that moment).
    row = BackupTarget(name="shop-db", dsn_env="SHOP_DATABASE_URL", directory=str(tmp_path))
    row.stamp(actor=system_user, reason="test target")
    row.save()
    return row


def _drill(target, kind, user, **fields):
    return Drill.objects.create(kind=kind, target=target, requested_by=user, reason="test", **fields)


def test_pitr_drill__is_named_a_self_test_that_did_not_touch_the_target(target, system_user):
    drill = _drill(target, Drill.Kind.PITR, system_user)
    assert "self-test" in str(drill) and f"not {target.name}'s backups or WAL" in str(drill)
    assert "says nothing about" in drill.proves


def test_drill_admin__shows_scope_and_what_a_pass_proves(admin_client, target, system_user):
    pitr = _drill(target, Drill.Kind.PITR, system_user)
    restore = _drill(target, Drill.Kind.RESTORE, system_user)
    listing = admin_client.get(reverse("admin:recovery_drill_changelist")).content.decode()
    assert "PITR mechanism self-test in throwaway clusters" in listing
    assert f"restore of {target.name}" in listing
    page = admin_client.get(reverse("admin:recovery_drill_change", args=[pitr.pk])).content.decode()
    assert "a pass proves" in page.lower() and "says nothing about" in page
    page = admin_client.get(reverse("admin:recovery_drill_change", args=[restore.pk])).content.decode()
    assert "backup restores into a fresh cluster" in page
