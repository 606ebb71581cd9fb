"""Admin: plans move with a reason, show their verification runs and the rollback horizon; backfills show a
progress bar and are started, paused, resumed and cancelled with a reason."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from schemaplans import services
from schemaplans.models import Backfill, BackfillProgress


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


def act(client, model, action, pk, **form):
    url = reverse(f"admin:schemaplans_{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": [pk], "confirm": "yes", **form})


def test_plan_pages__render_for_admins_and_auditors(admin_client, client, auditor, plan, backfill):
    for url in (reverse("admin:schemaplans_schemaplan_changelist"),
                reverse("admin:schemaplans_schemaplan_change", args=[plan.pk]),
                reverse("admin:schemaplans_schemaplan_add"),
                reverse("admin:schemaplans_backfill_changelist"),
                reverse("admin:schemaplans_backfill_change", args=[backfill.pk]),
                reverse("admin:schemaplans_backfill_add")):
        assert admin_client.get(url).status_code == 200, url
    client.force_login(auditor)
    assert client.get(reverse("admin:schemaplans_schemaplan_change", args=[plan.pk])).status_code == 200
    assert client.post(reverse("admin:schemaplans_schemaplan_changelist"),
                       {"action": "transition", "_selected_action": [plan.pk]}).status_code in (200, 302)
    plan.refresh_from_db()
    assert plan.status == "planned"


def test_transition_action__asks_a_reason_and_moves_the_plan(admin_client, administrator, plan):
    confirm = admin_client.post(reverse("admin:schemaplans_schemaplan_changelist"),
                                {"action": "transition", "_selected_action": [plan.pk]})
    assert b"Move schema plans" in confirm.content and b"release_version" in confirm.content
    done = act(admin_client, "schemaplan", "transition", plan.pk, status="expanded", release_version="1.4.0",
               reason="expand release deployed")
    assert done.status_code == 302
    plan.refresh_from_db()
    assert (plan.status, plan.expand_release_version) == ("expanded", "1.4.0")
    record = plan.history.latest()
    assert (record.history_user, record.history_change_reason) == (administrator, "expand release deployed")


def test_invalid_transition_action__shows_the_reason(admin_client, plan):
    response = act(admin_client, "schemaplan", "transition", plan.pk, status="contracted", reason="too early")
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("cannot move to contracted (allowed next: expanded)" in m for m in messages)
    plan.refresh_from_db()
    assert plan.status == "planned"


def test_verify_now_action__records_a_run(admin_client, plan, prove, administrator):
    for to in ("expanded", "backfilling", "backfilled", "verifying"):
        services.transition_plan(plan=plan, to=to, actor=administrator, reason="flow")
    act(admin_client, "schemaplan", "verify_now", plan.pk, reason="check before the deploy")
    run = plan.verification_runs.get()
    assert (run.mismatches, run.zero_streak) == (0, 1)
    page = admin_client.get(reverse("admin:schemaplans_schemaplan_change", args=[plan.pk])).content.decode()
    assert "1/3 zero runs" in page and "mismatching rows" in page


def test_plan_page__shows_the_rollback_horizon(admin_client, plan, prove, administrator):
    prove(plan, administrator, release_version="1.4.0", contract=True)
    page = admin_client.get(reverse("admin:schemaplans_schemaplan_change", args=[plan.pk])).content.decode()
    assert "Oldest rollback target: <strong>1.4.0</strong>" in page
    assert "<td>orders-status-code</td><td>1.4.0</td>" in page


def test_plan_edit__needs_a_reason_and_keeps_the_id(admin_client, administrator, plan):
    url = reverse("admin:schemaplans_schemaplan_change", args=[plan.pk])
    form = {"description": "copy status to status_code", "table": "orders", "columns": "status_code",
            "expand_migration": "", "contract_migration": "", "expand_release_version": "",
            "verification_sql": "SELECT 0", "database": "default", "required_zero_runs": "2",
            "verification_window": "12:00:00", "slug": "renamed"}
    assert b"This field is required" in admin_client.post(url, form).content
    assert admin_client.post(url, {**form, "reason": "two runs over 12h suffice"}).status_code == 302
    plan.refresh_from_db()
    assert (plan.slug, plan.required_zero_runs) == ("orders-status-code", 2)
    assert plan.history.latest().history_change_reason == "two runs over 12h suffice"


def test_add_backfill__creates_its_progress_row(admin_client, administrator, plan):
    response = admin_client.post(reverse("admin:schemaplans_backfill_add"), {
        "name": "copy status", "plan": plan.pk, "database": "default", "table": "orders", "key_column": "id",
        "sql": "UPDATE orders SET status_code = status WHERE id >= %(lo)s AND id < %(hi)s", "callable_path": "",
        "target_batch_ms": 200, "initial_batch_size": 1000, "min_batch_size": 100, "max_batch_size": 10000,
        "rest_ratio": 0.3,
        "lock_timeout_ms": 1000, "statement_timeout_ms": 225, "max_attempts": 5, "max_transaction_age_s": 300,
        "max_replication_lag_s": 30, "reason": "move status to status_code",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    backfill = Backfill.objects.get(name="copy status")
    assert backfill.service == plan.service
    assert BackfillProgress.objects.filter(backfill=backfill, batch_size=1000).exists()
    assert backfill.history.latest().history_user == administrator


def test_backfill_actions__start_pause_resume_cancel(admin_client, administrator, backfill, plan, release_manager):
    act(admin_client, "backfill", "start", backfill.pk, reason="go")
    backfill.refresh_from_db()
    assert (backfill.status, backfill.start_requested_by) == ("awaiting_approval", administrator)
    act(admin_client, "backfill", "approve_start", backfill.pk, reason="my own start")
    backfill.refresh_from_db()
    assert backfill.status == "awaiting_approval"  # the one who asked cannot approve
    admin_client.force_login(release_manager)
    act(admin_client, "backfill", "approve_start", backfill.pk, reason="read the statement: fine")
    backfill.refresh_from_db()
    plan.refresh_from_db()
    assert (backfill.status, plan.status) == ("running", "planned")
    assert backfill.history.latest().history_user == release_manager
    act(admin_client, "backfill", "pause", backfill.pk, reason="peak traffic")
    backfill.refresh_from_db()
    assert (backfill.status, backfill.status_reason) == ("paused", "peak traffic")
    act(admin_client, "backfill", "resume", backfill.pk, reason="quiet again")
    act(admin_client, "backfill", "cancel", backfill.pk, reason="wrong column")
    backfill.refresh_from_db()
    assert backfill.status == "cancelled"
    reasons = list(backfill.history.order_by("history_id").values_list("history_change_reason", flat=True))
    assert reasons == ["test fixture", "go", f"start approved by a second person: read the statement: fine (asked by "
                       f"{administrator})", "peak traffic", "quiet again", "wrong column"]


def test_backfill_list__shows_a_progress_bar(admin_client, backfill):
    BackfillProgress.objects.filter(pk=backfill.pk).update(
        lower_key=1, upper_key=1001, next_key=251, rows_done=250, estimated_rows=1000, active_seconds=5)
    page = admin_client.get(reverse("admin:schemaplans_backfill_changelist")).content.decode()
    assert re.search(r'<progress max="100" value="25\.0" aria-label="25\.0% done">25\.0%</progress>', page)
    assert "250 of ~1,000 rows · 50 rows/s · ETA 15 s" in page


def _edit(client, plan, reason="", **changes):
    url = reverse("admin:schemaplans_schemaplan_change", args=[plan.pk])
    columns = ",".join(plan.columns)  # a callable default: the browser also sends the hidden initial value
    form = {"description": plan.description, "table": plan.table, "columns": columns, "initial-columns": columns,
            "expand_migration": plan.expand_migration, "contract_migration": plan.contract_migration,
            "expand_release_version": plan.expand_release_version, "verification_sql": plan.verification_sql,
            "database": plan.database, "required_zero_runs": str(plan.required_zero_runs),
            "verification_window": str(plan.verification_window), "reason": reason, **changes}
    return client.post(url, form, follow=True)


def test_editing_the_query_of_a_verified_plan__restarts_its_verification(admin_client, administrator, plan, prove):
    proved = prove(plan, administrator, release_version="1.4.0")
    verified_at = proved.status_changed_at
    assert proved.status == "verified"
    _edit(admin_client, proved, reason="count the nulls too", verification_sql="SELECT 0 + 0")
    plan.refresh_from_db()
    assert (plan.status, plan.verification_sql) == ("verifying", "SELECT 0 + 0")
    assert plan.status_changed_at > verified_at
    assert services.verification_summary(plan)["zero_streak"] == 0  # the old query's zero run proves nothing now
    assert plan.history.latest().history_change_reason.startswith(
        "count the nulls too (verification restarted: verification_sql changed)")


def test_editing_the_description_of_a_verified_plan__keeps_it_verified(admin_client, administrator, plan, prove):
    proved = prove(plan, administrator, release_version="1.4.0")
    _edit(admin_client, proved, reason="typo", description="copy status into status_code")
    plan.refresh_from_db()
    assert (plan.status, plan.description) == ("verified", "copy status into status_code")


def test_editing_the_proof_of_a_contracted_plan__is_refused(admin_client, administrator, plan, prove):
    proved = prove(plan, administrator, release_version="1.4.0", contract=True)
    page = _edit(admin_client, proved, reason="oops", required_zero_runs="5").content.decode()
    assert "Not saved" in page and "contracted" in page
    plan.refresh_from_db()
    assert (plan.status, plan.required_zero_runs) == ("contracted", 1)


def test_escalating_verification_query_in_the_admin__is_refused_with_a_message(admin_client, plan):
    attack = "SELECT 0; COMMIT; UPDATE auth_user SET is_superuser = true"
    response = _edit(admin_client, plan, reason="faster query", verification_sql=attack)
    assert response.status_code == 200
    assert "Exactly one statement is allowed; found 3" in response.content.decode()
    plan.refresh_from_db()
    assert plan.verification_sql == "SELECT 0"
