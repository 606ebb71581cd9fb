"""Starting a backfill where production needs four eyes: one person asks, another approves; old SQL is listed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from governance.services import save_audited
from schemaplans import services
from schemaplans.models import Backfill, SchemaPlan


def test_start_where_production_needs_a_second_person__waits_for_approval(backfill, release_manager):
    started = services.start_backfill(backfill=backfill, actor=release_manager, reason="copy the codes")
    assert (started.status, started.start_requested_by) == ("awaiting_approval", release_manager)
    record = Backfill.objects.get(pk=backfill.pk).history.latest()
    assert (record.history_user, record.history_change_reason) == (release_manager, "copy the codes")


def test_the_person_who_asked__cannot_approve(backfill, release_manager):
    services.start_backfill(backfill=backfill, actor=release_manager, reason="copy the codes")
    with pytest.raises(ValidationError, match="approvals need another person"):
        services.approve_backfill_start(backfill=backfill, actor=release_manager, reason="looks fine to me")
    assert Backfill.objects.get(pk=backfill.pk).status == "awaiting_approval"


def test_another_person_approves__the_backfill_runs_with_both_recorded(backfill, release_manager, make_user):
    second = make_user("mo", "Maintenance admin")
    services.start_backfill(backfill=backfill, actor=release_manager, reason="copy the codes")
    approved = services.approve_backfill_start(backfill=backfill, actor=second, reason="read it: one table, bounded",
                                               enqueue=False)
    assert approved.status == "running"
    record = Backfill.objects.get(pk=backfill.pk).history.latest()
    assert record.history_user == second
    assert record.history_change_reason == ("start approved by a second person: read it: one table, bounded "
                                            f"(asked by {release_manager})")


def test_approving_a_backfill_nobody_asked_to_start__is_refused(backfill, make_user):
    with pytest.raises(ValidationError, match="only from awaiting_approval"):
        services.approve_backfill_start(backfill=backfill, actor=make_user("mo"), reason="x")


def test_without_a_production_four_eyes_rule__start_runs_at_once(backfill, production, system_user,
                                                               release_manager):
    production.requires_second_person = False
    save_audited(instance=production, actor=system_user, reason="test: no four eyes",
                 update_fields=["requires_second_person"])
    started = services.start_backfill(backfill=backfill, actor=release_manager, reason="go", enqueue=False)
    assert started.status == "running"


def test_stored_sql_the_rules_refuse__is_listed_by_check_typed_sql(plan, backfill, system_user, capsys):
    call_command("check_typed_sql")
    assert "passes the rules" in capsys.readouterr().out
    plan.verification_sql = "SELECT 0; COMMIT; UPDATE auth_user SET is_superuser = true"
    plan.stamp(actor=system_user, reason="written before the rules")
    plan.save(update_fields=["verification_sql"])  # past clean(), as rows written before the rules were

    with pytest.raises(CommandError, match="1 row"):
        call_command("check_typed_sql")

    out = capsys.readouterr().out
    assert f"schemaplans.SchemaPlan #{plan.pk} ({plan.slug}): Exactly one statement is allowed; found 3" in out
    assert SchemaPlan.objects.get(pk=plan.pk).verification_sql.startswith("SELECT 0; COMMIT")  # it only reads
