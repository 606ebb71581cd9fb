"""The recovery admin: a Maintenance admin runs drills and backups with a reason; an Operator cannot."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance import roles
from recovery import services
from recovery.models import Backup, Drill

CHANGELIST = "admin:recovery_backuptarget_changelist"

pytestmark = pytest.mark.usefixtures("no_leftover_rec2_shadows")


@pytest.fixture
def maintainer(make_user):
    return make_user("mia", roles.MAINTENANCE_ADMIN)


def _action(client, action, target, **extra):
    return client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [target.pk], **extra})


def test_maintenance_admin__runs_a_restore_drill_after_confirming_with_a_reason(
        client, maintainer, target, system_user, django_capture_on_commit_callbacks):
    services.take_backup(target=target, actor=system_user, reason="nightly")
    client.force_login(maintainer)

    confirm = _action(client, "run_restore_drill_now", target)
    assert confirm.status_code == 200 and b"Run restore drill" in confirm.content
    assert not Drill.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):  # sync mode: the task runs on commit
        done = _action(client, "run_restore_drill_now", target, confirm="yes", reason="hand-run before the audit")

    assert done.status_code == 302
    drill = Drill.objects.get()
    assert (drill.kind, drill.status, drill.requested_by, drill.reason) == (
        "restore", "passed", maintainer, "admin: hand-run before the audit")
    page = client.get(reverse("admin:recovery_drill_change", args=[drill.pk]))
    assert page.status_code == 200
    assert b"<pre" in page.content and b"# Restore drill PASSED" in page.content
    assert b"checksums" in page.content


def test_maintenance_admin__takes_a_backup_now(client, maintainer, target, django_capture_on_commit_callbacks):
    client.force_login(maintainer)

    with django_capture_on_commit_callbacks(execute=True):
        response = _action(client, "take_backup_now", target, confirm="yes", reason="before the migration")

    assert response.status_code == 302
    backup = Backup.objects.get()
    assert (backup.status, backup.created_by, backup.reason) == ("succeeded", maintainer, "admin: before the migration")


def test_drill_without_a_reason__is_not_run(client, maintainer, target):
    client.force_login(maintainer)

    response = _action(client, "run_restore_drill_now", target, confirm="yes", reason="")

    assert response.status_code == 200 and b"This field is required" in response.content
    assert not Drill.objects.exists()


def test_operator__is_offered_no_drill_or_backup_action_and_cannot_run_one(client, operator, target,
                                                                           django_capture_on_commit_callbacks):
    client.force_login(operator)

    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200  # Operators may look
    for action in (b"run_restore_drill_now", b"run_pitr_drill_now", b"take_backup_now"):
        assert action not in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(client, "run_restore_drill_now", target, confirm="yes", reason="let me try")
    assert response.status_code == 200  # no action is available to Operators: the list is shown again
    assert not Drill.objects.exists()
    assert client.get(reverse("admin:recovery_drill_add")).status_code == 403
    assert client.get(reverse("admin:recovery_backuptarget_add")).status_code == 403


def test_maintenance_admin__edits_a_target_with_a_reason(client, maintainer, target):
    client.force_login(maintainer)
    url = reverse("admin:recovery_backuptarget_change", args=[target.pk])
    form = {"name": target.name, "service": "", "dsn_env": target.dsn_env, "directory": target.directory,
            "keep_daily": 3, "keep_monthly": 6, "smoke_queries": '[{"name": "one", "sql": "SELECT 1"}]',
            "objective": "full", "enabled": "on", "reason": "fewer dailies, monthly audit needs six"}

    response = client.post(url, form)

    assert response.status_code == 302, response.content[:2000]
    target.refresh_from_db()
    assert (target.keep_daily, target.keep_monthly, target.objective) == (3, 6, "full")
    record = target.history.latest()
    assert (record.history_user, record.history_change_reason) == (maintainer, "fewer dailies, monthly audit needs six")


def test_every_role__loads_recovery_pages_with_rows_in_bounded_queries(client, make_user, target, system_user,
                                                                       django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    backup = services.take_backup(target=target, actor=system_user, reason="nightly")
    with django_capture_on_commit_callbacks(execute=True):
        drill = services.request_drill(target=target, kind="restore", actor=system_user, reason="monthly")
    pages = [reverse(CHANGELIST), reverse("admin:recovery_backuptarget_change", args=[target.pk]),
             reverse("admin:recovery_backup_changelist"), reverse("admin:recovery_backup_change", args=[backup.pk]),
             reverse("admin:recovery_drill_changelist"), reverse("admin:recovery_drill_change", args=[drill.pk])]
    for role in roles.ROLES:
        client.force_login(make_user(f"u-{role.split()[0].lower()}", role))
        for url in pages:
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            assert response.status_code == 200, (role, url)
            assert len(ctx.captured_queries) <= 25, (role, url, len(ctx.captured_queries))
        client.logout()
