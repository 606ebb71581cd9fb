"""Materialising recurring freezes: windows ahead of time, idempotent, audited, edits move only future windows."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from governance import services as core
from governance.schedules import SCHEDULES, ensure_schedules
from releases import gates, services, tasks
from releases.models import FreezeOverride, FreezeWindow, RecurringFreeze

NOW = datetime(2025, 6, 4, 23, 0, tzinfo=UTC)  # a Wednesday, one hour into the nightly freeze


def _starts(rule):
    return list(FreezeWindow.objects.filter(recurrence=rule).order_by("starts_at").values_list("starts_at", flat=True))


def _edit(rule, actor, reason, now=NOW, **fields):
    for name, value in fields.items():
        setattr(rule, name, value)
    return services.save_recurring_freeze(rule=rule, actor=actor, reason=reason, update_fields=list(fields), now=now)


def _daily_at(moment):
    return f"{moment.minute} {moment.hour} * * *"


def test_new_rule__creates_the_window_in_progress_and_those_starting_within_14_days(recurring_freeze):
    rule, result = recurring_freeze("0 22 * * *", 480, now=NOW)
    starts = _starts(rule)
    assert starts[0] == datetime(2025, 6, 4, 22, 0, tzinfo=UTC)  # in progress at NOW
    assert starts[-1] == datetime(2025, 6, 18, 22, 0, tzinfo=UTC)  # the last start before NOW + 14 days
    assert len(starts) == len(result.created) == 15
    window = FreezeWindow.objects.get(recurrence=rule, starts_at=starts[0])
    assert (window.title, window.service, window.environment, window.ends_at) == (
        rule.title, None, rule.environment, datetime(2025, 6, 5, 6, 0, tzinfo=UTC))


def test_every_window__records_the_actor_and_the_reason(recurring_freeze, release_manager):
    rule, _ = recurring_freeze("0 22 * * *", 480, now=NOW, actor=release_manager, reason="batch jobs at night")
    for window in FreezeWindow.objects.filter(recurrence=rule):
        record = window.history.latest()
        assert record.history_user == release_manager
        assert record.history_change_reason.startswith("batch jobs at night")
    assert rule.history.latest().history_change_reason == "batch jobs at night"


def test_rerun__creates_nothing_and_writes_no_history(recurring_freeze, system_user):
    rule, _ = recurring_freeze("0 22 * * *", 480, now=NOW)
    before = (FreezeWindow.objects.count(), FreezeWindow.history.count())
    [again] = services.materialise_recurring_freezes(now=NOW)
    [later] = services.materialise_recurring_freezes(now=NOW + timedelta(minutes=30))
    assert not again.changed and not later.changed
    assert (FreezeWindow.objects.count(), FreezeWindow.history.count()) == before


def test_job__adds_the_next_day_as_the_horizon_moves_with_the_system_user(recurring_freeze, system_user):
    rule, _ = recurring_freeze("0 22 * * *", 480, now=NOW)
    [result] = services.materialise_recurring_freezes(now=NOW + timedelta(days=1))
    [created] = result.created
    assert created.starts_at == datetime(2025, 6, 19, 22, 0, tzinfo=UTC)
    record = created.history.latest()
    assert (record.history_user, record.history_type) == (system_user, "+")
    assert "scheduled: materialise recurring freezes" in record.history_change_reason


def test_edit__moves_future_windows_and_keeps_the_one_in_progress(recurring_freeze, release_manager):
    rule, _ = recurring_freeze("0 22 * * *", 480, now=NOW)
    in_progress = FreezeWindow.objects.get(recurrence=rule, starts_at__lte=NOW, ends_at__gt=NOW)
    removed_pk = FreezeWindow.objects.get(recurrence=rule, starts_at=datetime(2025, 6, 5, 22, 0, tzinfo=UTC)).pk

    result = _edit(rule, release_manager, "batch moved to 23:00", cron="0 23 * * *", duration_minutes=420)

    assert result.kept_in_progress == [in_progress]
    in_progress.refresh_from_db()
    assert (in_progress.starts_at, in_progress.ends_at) == (datetime(2025, 6, 4, 22, 0, tzinfo=UTC),
                                                            datetime(2025, 6, 5, 6, 0, tzinfo=UTC))
    starts = _starts(rule)
    # The running night, then 23:00 from tomorrow on (up to, not including, NOW + 14 days); no second window
    # stacked on tonight's.
    assert starts[0] == in_progress.starts_at
    assert starts[1:] == [datetime(2025, 6, d, 23, 0, tzinfo=UTC) for d in range(5, 18)]
    assert all(w.ends_at - w.starts_at == timedelta(minutes=420)
               for w in FreezeWindow.objects.filter(recurrence=rule).exclude(pk=in_progress.pk))
    gone = FreezeWindow.history.filter(id=removed_pk, history_type="-").get()
    assert gone.history_user == release_manager
    assert gone.history_change_reason.startswith("batch moved to 23:00")
    assert len(result.removed) == 14 and len(result.created) == 13


def test_edit_of_title_and_scope__updates_future_windows_in_place(recurring_freeze, release_manager, service):
    rule, _ = recurring_freeze("0 22 * * *", 480, now=NOW)
    future_pks = set(FreezeWindow.objects.filter(recurrence=rule, starts_at__gt=NOW).values_list("pk", flat=True))
    result = _edit(rule, release_manager, "only the shop", title="Shop nightly", service=service)
    assert {w.pk for w in result.updated} == future_pks and not result.created and not result.removed
    assert set(FreezeWindow.objects.filter(recurrence=rule, starts_at__gt=NOW)
               .values_list("title", "service__slug")) == {("Shop nightly", "shop")}
    running = FreezeWindow.objects.get(recurrence=rule, starts_at__lte=NOW)
    assert (running.title, running.service) == ("Weekend freeze", None)


def test_deactivating__removes_future_windows_only(recurring_freeze, release_manager):
    rule, _ = recurring_freeze("0 22 * * *", 480, now=NOW)
    result = _edit(rule, release_manager, "batch retired", active=False)
    assert len(result.removed) == 14 and not result.created
    assert _starts(rule) == [datetime(2025, 6, 4, 22, 0, tzinfo=UTC)]
    assert services.materialise_recurring_freezes(now=NOW + timedelta(days=2))[0].created == []


def test_future_window_with_an_override__is_kept_by_an_edit(recurring_freeze, release_manager, release):
    rule, _ = recurring_freeze("0 22 * * *", 480, now=NOW)
    tomorrow = FreezeWindow.objects.get(recurrence=rule, starts_at=datetime(2025, 6, 5, 22, 0, tzinfo=UTC))
    core.save_audited(instance=FreezeOverride(release=release, window=tomorrow, overridden_by=release_manager,
                                              reason="hotfix"), actor=release_manager, reason="hotfix")
    result = _edit(rule, release_manager, "retired", active=False)
    assert result.kept_overridden == [tomorrow]
    assert FreezeWindow.objects.filter(pk=tomorrow.pk).exists()


def test_gate__blocks_a_promotion_during_an_occurrence(recurring_freeze, register, production, gate_policy,
                                                       release_manager, second_manager):
    gate_policy(approvals_required=1)
    release = register("1.0.0")
    services.approve_release(release=release, environment=production, actor=second_manager, reason="reviewed")
    now = timezone.now().replace(second=0, microsecond=0)
    recurring_freeze(_daily_at(now - timedelta(hours=1)), 180, title="Nightly batch")

    freeze = {i.name: i for i in gates.evaluate(release, production).inputs}["freeze-window"]
    assert (freeze.verdict, freeze.code) == ("block", "frozen") and "Nightly batch" in freeze.message
    with pytest.raises(ValidationError, match="gate says block: freeze-window: production is frozen until"):
        services.start_promotion(release=release, environment=production, actor=release_manager, reason="ship")
    release.refresh_from_db()
    assert release.state == "registered"


def test_gate__allows_a_promotion_outside_the_occurrences(recurring_freeze, register, production, gate_policy,
                                                          release_manager, second_manager):
    gate_policy(approvals_required=1)
    release = register("1.0.0")
    services.approve_release(release=release, environment=production, actor=second_manager, reason="reviewed")
    now = timezone.now().replace(second=0, microsecond=0)
    rule, _ = recurring_freeze(_daily_at(now + timedelta(hours=2)), 60, title="Nightly batch")
    assert FreezeWindow.objects.filter(recurrence=rule).exists()

    freeze = {i.name: i for i in gates.evaluate(release, production).inputs}["freeze-window"]
    assert (freeze.verdict, freeze.code) == ("allow", "not-frozen")
    deployment = services.start_promotion(release=release, environment=production, actor=release_manager,
                                          reason="ship")
    assert deployment.gate["decision"] == "allow"


def test_override__lets_a_release_through_a_materialised_window_and_survives_an_edit(
        recurring_freeze, release, production, release_manager):
    now = timezone.now().replace(second=0, microsecond=0)
    rule, _ = recurring_freeze(_daily_at(now - timedelta(hours=1)), 180, title="Nightly batch")
    [override] = services.override_freeze(release=release, environment=production, actor=release_manager,
                                          reason="payment fix")
    assert override.window.recurrence == rule
    freeze = {i.name: i for i in gates.evaluate(release, production).inputs}["freeze-window"]
    assert (freeze.verdict, freeze.code) == ("allow", "freeze-overridden") and "payment fix" in freeze.message

    _edit(rule, release_manager, "moved", now=timezone.now(), cron=_daily_at(now + timedelta(hours=3)))
    assert FreezeOverride.objects.filter(pk=override.pk, window=override.window).exists()
    freeze = {i.name: i for i in gates.evaluate(release, production).inputs}["freeze-window"]
    assert freeze.code == "freeze-overridden"


def test_inactive_rule_created__makes_no_windows(system_user, production):
    rule = RecurringFreeze(title="Paused", environment=production, cron="0 22 * * *", duration_minutes=60,
                           active=False)
    result = services.save_recurring_freeze(rule=rule, actor=system_user, reason="prepared", now=NOW)
    assert not result.created and not FreezeWindow.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_runs__create_each_window_once(production, system_user):
    rule = RecurringFreeze(title="Nightly", environment=production, cron="0 22 * * *", duration_minutes=480,
                           active=False)
    services.save_recurring_freeze(rule=rule, actor=system_user, reason="prepared", now=NOW)
    rule.active = True
    core.save_audited(instance=rule, actor=system_user, reason="switch on without materialising",
                      update_fields=["active"])
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait()
            services.materialise_recurring_freezes(now=NOW)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(_starts(rule)) == len(set(_starts(rule))) == 15
    assert FreezeWindow.history.filter(history_type="+").count() == 15


def test_schedule__is_registered_hourly_and_created(db):
    entry = next(s for s in SCHEDULES if s["func"] == "releases.tasks.materialise_recurring_freezes")
    assert entry["schedule_type"] == "H"
    from django_q.models import Schedule

    ensure_schedules()
    assert Schedule.objects.get(name=entry["name"]).func == "releases.tasks.materialise_recurring_freezes"


def test_task__materialises_as_the_system_user(production, system_user, release_manager):
    rule = RecurringFreeze(title="Nightly", environment=production, cron="0 22 * * *", duration_minutes=60,
                           active=False)
    services.save_recurring_freeze(rule=rule, actor=release_manager, reason="prepared")
    rule.active = True
    core.save_audited(instance=rule, actor=release_manager, reason="switch on", update_fields=["active"])
    assert "window(s) created" in tasks.materialise_recurring_freezes()
    window = FreezeWindow.objects.filter(recurrence=rule).first()
    assert window is not None
    assert window.history.latest().history_user == system_user
    assert window.history.latest().history_change_reason.startswith("task: materialise recurring freezes")


def test_command__materialises_and_refuses_a_silly_horizon(production, system_user):
    from io import StringIO

    from django.core.management import CommandError, call_command

    rule = RecurringFreeze(title="Nightly", environment=production, cron="0 22 * * *", duration_minutes=60,
                           active=False)
    services.save_recurring_freeze(rule=rule, actor=system_user, reason="prepared")
    rule.active = True
    core.save_audited(instance=rule, actor=system_user, reason="switch on", update_fields=["active"])
    out = StringIO()
    call_command("materialise_recurring_freezes", "--horizon-days", "2", stdout=out)
    assert f"Nightly (#{rule.pk}): " in out.getvalue()
    assert 2 <= FreezeWindow.objects.filter(recurrence=rule).count() <= 3
    window = FreezeWindow.objects.filter(recurrence=rule).earliest("starts_at")
    assert window.history.latest().history_change_reason.startswith(
        "command: materialise_recurring_freezes --horizon-days 2")
    with pytest.raises(CommandError, match="between 1 and 90"):
        call_command("materialise_recurring_freezes", "--horizon-days", "0")
