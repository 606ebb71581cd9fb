"""Drift alerts once per new finding; the command, the admin action and the evidence section show the reviews."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from access import evidence, services
from access.models import AccessSnapshot
from governance.services import system_user


def test_new_drift__alerts_once_not_every_run(governed, caplog, django_capture_on_commit_callbacks):
    scratch, target = governed
    caplog.set_level(logging.WARNING, logger="governance.notifications.routing")
    with django_capture_on_commit_callbacks(execute=True):
        services.review_access(target=target, actor=system_user(), reason="test")
    scratch.run("GRANT TRUNCATE ON orders TO {p}_anon")
    with django_capture_on_commit_callbacks(execute=True):
        first = services.review_access(target=target, actor=system_user(), reason="test")
        again = services.review_access(target=target, actor=system_user(), reason="test")
    alerts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("alert: Database access")]
    assert len(alerts) == 1 and "TRUNCATE on public.orders" in alerts[0]
    assert (first.alerted, again.alerted) == (True, False)


def test_unreachable_database__is_a_failed_review_not_an_error(governed, monkeypatch):
    _, target = governed
    monkeypatch.setenv("GOV_DBACCESS_TEST_DSN", "postgresql://127.0.0.1:1/nowhere")
    snapshot = services.review_access(target=target, actor=system_user(), reason="test")
    assert snapshot.status == "failed" and "OperationalError" in snapshot.error


def test_command__reviews_and_exits_1_on_drift(governed, capsys):
    scratch, target = governed
    call_command("access_review", "--target", target.name, "--reason", "audit prep")
    assert f"{target.name}: clean" in capsys.readouterr().out
    scratch.run("ALTER TABLE orders DISABLE ROW LEVEL SECURITY")
    with pytest.raises(SystemExit) as exited:
        call_command("access_review", "--target", target.name, "--reason", "audit prep")
    assert exited.value.code == 1
    assert "rls-disabled: Row-level security is off on public.orders" in capsys.readouterr().out
    assert AccessSnapshot.objects.filter(target=target).latest("id").reason == "audit prep (manage.py access_review)"


def test_admin_action__reviews_after_a_reason(governed, make_user):
    _, target = governed
    client = Client()
    client.force_login(make_user("maria", "Maintenance admin"))
    policy = target.access_policy
    url = "/admin/access/accesspolicy/"
    page = client.post(url, {"action": "review_now", "_selected_action": [policy.pk]})
    assert page.status_code == 200 and b"Connects to each database read-only" in page.content
    done = client.post(url, {"action": "review_now", "_selected_action": [policy.pk], "confirm": "1",
                             "reason": "quarterly access review"}, follow=True)
    assert b"clean (0 finding(s))" in done.content
    snapshot = AccessSnapshot.objects.get(target=target)
    assert (snapshot.taken_by.username, snapshot.reason) == ("maria", "admin: quarterly access review")
    assert client.get(f"/admin/access/accesssnapshot/{snapshot.pk}/change/").status_code == 200


def test_auditor__may_not_run_a_review(governed, auditor):
    _, target = governed
    client = Client()
    client.force_login(auditor)
    client.post("/admin/access/accesspolicy/", {"action": "review_now", "_selected_action": [target.access_policy.pk],
                                                "confirm": "1", "reason": "x"})
    assert not AccessSnapshot.objects.exists()


def test_policy_edit__is_a_new_revision_judging_later_reviews(governed):
    scratch, target = governed
    policy = target.access_policy
    document = {**policy.document, "read": {**policy.document["read"], scratch.role("anon"): []}}
    services.update_access_policy(policy=policy, document=document, actor=system_user(), reason="anon reads nothing")
    snapshot = services.review_access(target=target, actor=system_user(), reason="test")
    assert snapshot.policy_revision == 2
    assert [(d["code"], d["object"]) for d in snapshot.drift] == [("read-grant", "public.products")]
    assert policy.history.latest().history_change_reason == "anon reads nothing"


def test_evidence_section__lists_reviews_with_their_drift(governed):
    scratch, target = governed
    scratch.run("ALTER TABLE orders DISABLE ROW LEVEL SECURITY")
    services.review_access(target=target, actor=system_user(), reason="test")
    now = timezone.now()
    files = evidence.access_reviews(start=now - timedelta(hours=1), end=now + timedelta(hours=1), service=None)
    assert set(files) == {"reviews.json", "report.md"}
    assert b'"rls-disabled"' in files["reviews.json"]
    assert b"Row-level security is off on public.orders" in files["report.md"]


def test_admin_home__shows_drift_until_the_database_is_clean_again(governed, make_user):
    scratch, target = governed
    client = Client()
    client.force_login(make_user("audra", "Auditor"))
    scratch.run("ALTER TABLE orders DISABLE ROW LEVEL SECURITY")
    services.review_access(target=target, actor=system_user(), reason="test")
    assert f"{target.name}: 1 access finding(s)" in client.get("/admin/").content.decode()
    scratch.run("ALTER TABLE orders ENABLE ROW LEVEL SECURITY")
    services.review_access(target=target, actor=system_user(), reason="test")
    assert "Governed databases match their access policies." in client.get("/admin/").content.decode()


def test_policy__is_typed_as_yaml_in_the_admin(governed, make_user):
    import yaml

    from access.models import AccessPolicy

    scratch, target = governed
    client = Client()
    client.force_login(make_user("ada2", "Administrator"))
    policy = target.access_policy
    url = f"/admin/access/accesspolicy/{policy.pk}/change/"
    page = client.get(url).content.decode()
    assert f"{scratch.role('owner')}:" in page  # shown as YAML, not JSON
    document = {**policy.document, "rls_required": {"public.orders": {"force": True}}}
    answer = client.post(url, {"document": yaml.safe_dump(document), "enabled": "on", "reason": "force RLS on orders"})
    assert answer.status_code == 302
    policy = AccessPolicy.objects.get(pk=policy.pk)
    assert (policy.revision, policy.document["rls_required"]) == (2, {"public.orders": {"force": True}})
    refused = client.post(url, {"document": "roles: [", "enabled": "on", "reason": "typo"})
    assert refused.status_code == 200 and "Not valid YAML or JSON" in refused.content.decode()
    assert [(d["code"], d["object"]) for d in services.review_access(
        target=target, actor=system_user(), reason="test").drift] == [("rls-not-forced", "public.orders")]


def test_draft_action__prints_the_grants_of_today_as_a_policy(governed, make_user):
    scratch, target = governed
    services.review_access(target=target, actor=system_user(), reason="test")
    client = Client()
    client.force_login(make_user("audra", "Auditor"))
    page = client.post("/admin/access/accesspolicy/", {"action": "draft_from_latest",
                                                       "_selected_action": [target.access_policy.pk]}, follow=True)
    text = page.content.decode()
    assert "narrow it before adopting it" in text and "public.audit_log" in text


def test_schedules__review_every_enabled_policy_nightly(governed):
    from django_q.models import Schedule

    from access import tasks
    from governance.schedules import ensure_schedules

    _, target = governed
    ensure_schedules()
    crons = dict(Schedule.objects.filter(name__startswith="access:").values_list("func", "cron"))
    assert crons == {"access.tasks.review_all": "15 4 * * *", "access.tasks.check_overdue_secrets": "0 7 * * *"}
    assert tasks.review_all() == {target.name: "clean"}
    services.update_access_policy(policy=target.access_policy, enabled=False, actor=system_user(), reason="paused")
    assert tasks.review_all() == {}


def test_api__lists_the_latest_review_per_target(governed, make_token):
    scratch, target = governed
    services.review_access(target=target, actor=system_user(), reason="test")
    scratch.run("GRANT DELETE ON products TO {p}_anon")
    latest = services.review_access(target=target, actor=system_user(), reason="test")
    answer = Client().get(f"/api/v1/access-reviews?target={target.name}",
                          HTTP_AUTHORIZATION=f"Bearer {make_token('audit:read')}")
    assert answer.status_code == 200
    [body] = answer.json()
    assert (body["id"], body["status"], body["snapshot_sha256"]) == (latest.pk, "drift", latest.digest)
    assert [(d["code"], d["object"]) for d in body["drift"]] == [("write-grant", "public.products")]
    assert body["changes"][0]["path"] == f"tables.public.products.grants.{scratch.role('anon')}"
    refused = Client().get("/api/v1/access-reviews", HTTP_AUTHORIZATION=f"Bearer {make_token('flags:read')}")
    assert refused.status_code == 403
