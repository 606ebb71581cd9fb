"""The admin home shows what needs attention now, links each item to where it is handled, and only reads."""

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flags import services as flag_services
from governance import services as core
from recovery.models import BackupTarget, Drill
from releases import services as release_services
from releases.models import GatePolicy

HOME = f"/{settings.ADMIN_PATH}"


def test_home__lists_engaged_maintenance_with_expiry_and_a_release_awaiting_approval(
        client, release_manager, service, production, system_user):
    policy = GatePolicy(service=service, environment=production, required_checks=["tests"], approvals_required=1)
    core.save_audited(instance=policy, actor=system_user, reason="test policy")
    flag_services.enter_maintenance(service=service, environment=production, actor=release_manager,
                                    reason="payment provider outage")
    release = release_services.register_release(service=service, version="1.0.0", build_sha="a" * 40,
                                                actor=system_user, reason="ci").release
    release_services.report_check(release=release, name="tests", status="success", actor=system_user, reason="ci")
    client.force_login(release_manager)
    html = client.get(HOME).content.decode()
    switches = html.split('id="attention-switches"')[1].split('id="attention-')[0]
    assert "shop: maintenance mode engaged in production" in switches and "expires" in switches
    assert reverse("admin:flags_ops_console", args=["shop"]) in switches
    approvals = html.split('id="attention-approvals"')[1].split('id="attention-')[0]
    assert "shop 1.0.0" in approvals and reverse("admin:releases_release_change", args=[release.pk]) in approvals


def test_home__names_a_failed_drill_by_what_it_drilled(admin_client, system_user, tmp_path):
    target = BackupTarget(name="shop-db", dsn_env="SHOP_DATABASE_URL", directory=str(tmp_path))
    target.stamp(actor=system_user, reason="test target")
    target.save()
    Drill.objects.create(kind=Drill.Kind.PITR, target=target, requested_by=system_user, reason="test",
                         status=Drill.Status.FAILED, finished_at=target.created_at)
    html = admin_client.get(HOME).content.decode()
    drills = html.split('id="attention-drills"')[1].split('id="attention-')[0]
    assert "FAILED PITR mechanism self-test" in drills


def test_home__only_reads(admin_client, service, production, system_user):
    with CaptureQueriesContext(connection) as ctx:
        assert admin_client.get(HOME).status_code == 200
    writes = [q["sql"] for q in ctx.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
              and "django_session" not in q["sql"] and "portal_cache" not in q["sql"]]  # session, flag cache
    assert writes == []


def test_home__product_sections_before_axes_and_django_q_with_the_ops_console_one_click_away(admin_client):
    html = admin_client.get(HOME).content.decode()
    assert html.index('class="app-flags') < html.index('class="app-axes') < html.index('class="app-django_q')
    assert html.index('class="app-releases') < html.index('class="app-axes')
    assert reverse("admin:flags_ops_index") in html
