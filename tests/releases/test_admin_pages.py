"""Every releases admin page loads for each role that may see it, with data, in a bounded number of queries."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import roles
from governance import services as core
from releases import services
from releases.models import FreezeWindow

MAX_QUERIES = 40


@pytest.fixture
def populated(register, production, preview, system_user, second_manager, gate_policy):
    gate_policy(required_checks=["tests"], approvals_required=1)
    old = register("1.0.0")
    services.record_deployment(release=old, environment=production, status="succeeded", actor=system_user,
                               reason="ci")
    new = register("1.1.0")
    services.report_check(release=new, name="tests", status="success", actor=system_user, reason="ci")
    services.record_deployment(release=new, environment=preview, status="succeeded", actor=system_user, reason="ci")
    services.approve_release(release=new, environment=production, actor=second_manager, reason="ok")
    now = timezone.now()
    window = FreezeWindow(title="Quarter end", environment=production, starts_at=now, ends_at=now + timedelta(days=1))
    core.save_audited(instance=window, actor=system_user, reason="quarter end")
    services.override_freeze(release=new, environment=production, actor=second_manager, reason="tax fix")
    return new


@pytest.mark.parametrize("role", roles.ROLES)
def test_each_role__loads_every_releases_page_it_may_view(client, make_user, populated, role):
    user = make_user(f"user-{role.split()[0].lower()}", role)
    client.force_login(user)
    for model in [m for m in admin.site._registry if m._meta.app_label == "releases"]:
        opts = model._meta
        url = reverse(f"admin:releases_{opts.model_name}_changelist")
        response = client.get(url)
        if not user.has_perm(f"releases.view_{opts.model_name}"):
            assert response.status_code == 403, url
            continue
        assert response.status_code == 200, url
        obj = model._default_manager.first()
        if obj is None:
            continue
        change_url = reverse(f"admin:releases_{opts.model_name}_change", args=[obj.pk])
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(change_url).status_code == 200, change_url
        assert len(ctx.captured_queries) <= MAX_QUERIES, (change_url, len(ctx.captured_queries))
        assert client.get(reverse(f"admin:releases_{opts.model_name}_history", args=[obj.pk])).status_code == 200


def test_release_managers__cannot_loosen_gate_policies(client, release_manager, administrator):
    assert not release_manager.has_perm("releases.change_gatepolicy")
    assert not release_manager.has_perm("releases.add_gatepolicy")
    assert release_manager.has_perm("releases.add_approval") and release_manager.has_perm("releases.change_release")
    assert administrator.has_perm("releases.change_gatepolicy")


def test_gate_policy_edit_in_admin__requires_a_reason(client, administrator, service, production):
    client.force_login(administrator)
    url = reverse("admin:releases_gatepolicy_add")
    data = {"service": service.pk, "environment": production.pk, "required_checks": "tests,smoke",
            "min_soak_minutes": 30, "approvals_required": 2, "approval_ttl_hours": 12}
    assert b"This field is required" in client.post(url, data).content
    assert client.post(url, {**data, "reason": "two-person rule"}).status_code == 302
    from releases.models import GatePolicy

    policy = GatePolicy.objects.get()
    assert policy.required_checks == ["tests", "smoke"]
    assert policy.history.latest().history_change_reason == "two-person rule"


def test_release_page_of_a_malformed_id__redirects_with_django_s_message(client, make_user):
    client.force_login(make_user("sudo", superuser=True))
    response = client.get(reverse("admin:releases_release_change", args=["abc"]), follow=True)
    assert response.status_code == 200
    assert "doesn’t exist" in response.content.decode()


def test_rollback_of_a_selection_that_is_no_id__does_nothing_and_says_so(client, make_user, populated):
    client.force_login(make_user("sudo", superuser=True))
    page = client.post(reverse("admin:releases_release_changelist"),
                       {"action": "rollback", "_selected_action": ["abc"]}, follow=True)
    assert "The selection holds a value that is not an id: nothing was done." in page.content.decode()
