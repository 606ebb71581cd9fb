"""Recurring freezes: saving a rule, and materialising its occurrences as ordinary FreezeWindow rows.

The gate, the overrides and the admin only know FreezeWindow; a rule's occurrences become windows linked to it
(`FreezeWindow.recurrence`, unique per start), created ahead of time by an hourly job and at once when the
rule is saved. A window that has started, or that a release was let through, is never changed or removed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.services import require_reason, system_user
from releases import recurrence
from releases.models import FreezeOverride, FreezeWindow, RecurringFreeze

logger = logging.getLogger(__name__)
HORIZON = timedelta(days=14)


@dataclass
class Materialised:
    """What one pass did to one rule's windows."""

    rule: RecurringFreeze
    created: list[FreezeWindow] = field(default_factory=list)
    updated: list[FreezeWindow] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # descriptions: the rows are gone
    kept_in_progress: list[FreezeWindow] = field(default_factory=list)
    kept_overridden: list[FreezeWindow] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)


@transaction.atomic
def save_recurring_freeze(*, rule: RecurringFreeze, actor: Any, reason: str, update_fields: list[str] | None = None,
                          now: datetime | None = None) -> Materialised:
    """Create or change a rule, then bring its windows in line at once (see `materialise_recurring_freezes`)."""
    reason = require_reason(reason)
    if rule.pk is not None:
        # Serialise with the hourly job, which holds the same lock while it writes this rule's windows.
        RecurringFreeze.objects.select_for_update().filter(pk=rule.pk).first()
    rule.full_clean()
    rule.stamp(actor=actor, reason=reason)
    rule.save(update_fields=update_fields if rule.pk is not None and update_fields else None)
    return _materialise(rule, now=now or timezone.now(), horizon=HORIZON, actor=actor, reason=reason)


def materialise_recurring_freezes(*, now: datetime | None = None, horizon: timedelta = HORIZON,
                                  actor: Any = None, reason: str = "scheduled: materialise recurring freezes",
                                  ) -> list[Materialised]:
    """Create each rule's missing windows up to `horizon` ahead (and the one in progress); drop stale future ones.

    Idempotent and safe to run concurrently: each rule is handled in its own transaction under its row lock,
    and the unique (recurrence, starts_at) index backs that up.
    """
    reason = require_reason(reason)
    actor = actor or system_user()
    now = now or timezone.now()
    results = []
    for rule_id in RecurringFreeze.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            rule = (RecurringFreeze.objects.select_for_update(of=("self",)).select_related("service", "environment")
                    .filter(pk=rule_id).first())
            if rule is None:
                continue
            try:
                results.append(_materialise(rule, now=now, horizon=horizon, actor=actor, reason=reason))
            except recurrence.RecurrenceError as exc:
                # A rule saved valid can become invalid (a zone withdrawn from tzdata): skip it, keep the others.
                logger.warning("recurring freeze #%s (%s) skipped: %s", rule.pk, rule, exc.message)
    return results


def _materialise(rule: RecurringFreeze, *, now: datetime, horizon: timedelta, actor: Any,
                 reason: str) -> Materialised:
    result = Materialised(rule)
    windows = list(FreezeWindow.objects.select_for_update().filter(recurrence=rule, ends_at__gt=now)
                   .order_by("starts_at"))
    overridden = set(FreezeOverride.objects.filter(window__in=windows).values_list("window_id", flat=True))
    result.kept_in_progress = [w for w in windows if w.starts_at <= now]
    future = [w for w in windows if w.starts_at > now]

    wanted: dict[datetime, recurrence.Window] = {}
    if rule.active:
        # Far enough to judge every existing future window, even one made with a longer horizon.
        until = max([now + horizon, *(w.starts_at + timedelta(seconds=1) for w in future)])
        wanted = {w.starts_at: w for w in recurrence.windows(rule.schedule, since=now, until=until)}
    if result.kept_in_progress:
        # The freeze in progress stays as it is, even when the rule now says otherwise: an edit never cuts a
        # running freeze short, nor stacks a second one on it.
        wanted = {start: w for start, w in wanted.items() if start > now}
    else:
        # Never re-create an occurrence whose window once existed and has ended (or that started and was cut).
        wanted = {start: w for start, w in wanted.items()
                  if start > now or not FreezeWindow.objects.filter(recurrence=rule, starts_at=start).exists()}

    for window in future:
        target = wanted.pop(window.starts_at, None)
        if window.pk in overridden:
            if target is None or not _matches(window, rule, target):
                result.kept_overridden.append(window)
            continue
        if target is None:
            description = str(window)
            window.stamp(actor=actor, reason=f"{reason} [recurring freeze #{rule.pk}: "
                                             f"{'rule inactive' if not rule.active else 'no longer an occurrence'}]")
            window.delete()
            result.removed.append(description)
        elif not _matches(window, rule, target):
            window.title, window.service, window.environment = rule.title, rule.service, rule.environment
            window.ends_at = target.ends_at
            window.stamp(actor=actor, reason=f"{reason} [recurring freeze #{rule.pk}: occurrence changed]")
            window.save(update_fields=["title", "service", "environment", "ends_at"])
            result.updated.append(window)

    for start, target in sorted(wanted.items()):
        if start >= now + horizon:
            continue
        window = FreezeWindow(title=rule.title, service=rule.service, environment=rule.environment,
                              starts_at=target.starts_at, ends_at=target.ends_at, recurrence=rule)
        window.stamp(actor=actor, reason=f"{reason} [recurring freeze #{rule.pk}: new occurrence]")
        window.save()
        result.created.append(window)
    return result


def _matches(window: FreezeWindow, rule: RecurringFreeze, target: recurrence.Window) -> bool:
    return (window.ends_at, window.title, window.service_id, window.environment_id) == (
        target.ends_at, rule.title, rule.service_id, rule.environment_id)


# --- freezes declared by a scheduled maintenance (status app, governance.hooks.MAINTENANCE_FREEZE) -----------


def sync_maintenance_freeze(*, maintenance_id: int, service: Any, title: str, note: str,
                            environments: list[Any], starts_at: datetime, ends_at: datetime, now: datetime,
                            actor: Any, reason: str) -> None:
    """Bring the freezes a maintenance declared in line with it: one per environment over its window.

    Run inside the maintenance's transaction (its row is locked, so two changes of one maintenance queue up).
    What has already happened stays: a freeze in progress keeps its start, and one that should no longer exist
    ends at `now` rather than vanishing; one not started yet is moved or removed. Never a dangling freeze.
    """
    reason = require_reason(reason)
    title = f"Maintenance: {title}"[:200]
    wanted = {env.pk: env for env in environments}
    windows = list(FreezeWindow.objects.select_for_update().filter(maintenance_id=maintenance_id, ends_at__gt=now)
                   .order_by("pk"))
    for window in windows:
        env = wanted.pop(window.environment_id, None)
        if env is None or ends_at <= now:
            _end_maintenance_window(window, now=now, actor=actor, reason=reason)
            continue
        start = window.starts_at if window.starts_at <= now else starts_at
        if (window.starts_at, window.ends_at, window.title, window.maintenance_reason) != (start, ends_at, title, note):
            window.starts_at, window.ends_at, window.title, window.maintenance_reason = start, ends_at, title, note
            window.stamp(actor=actor, reason=f"{reason} [maintenance #{maintenance_id}: rescheduled]")
            window.full_clean()
            window.save(update_fields=["starts_at", "ends_at", "title", "maintenance_reason"])
    if ends_at <= now:
        return
    for env in wanted.values():
        window = FreezeWindow(title=title, service=service, environment=env, starts_at=starts_at,
                              ends_at=ends_at, maintenance_id=maintenance_id, maintenance_reason=note)
        window.stamp(actor=actor, reason=f"{reason} [maintenance #{maintenance_id}: freeze declared]")
        window.full_clean()
        window.save()


def _end_maintenance_window(window: FreezeWindow, *, now: datetime, actor: Any, reason: str) -> None:
    """A freeze that should end: removed if it has not started (and nobody was let through), else cut at now."""
    label = f"maintenance #{window.maintenance_id}"
    if window.starts_at > now and not window.overrides.exists():
        window.stamp(actor=actor, reason=f"{reason} [{label}: freeze removed]")
        window.delete()
        return
    window.starts_at = min(window.starts_at, now - timedelta(microseconds=1))
    window.ends_at = now
    window.stamp(actor=actor, reason=f"{reason} [{label}: freeze ended]")
    window.save(update_fields=["starts_at", "ends_at"])


def maintenance_freezes(*, maintenance_id: int) -> list[tuple[str, str]]:
    """The freezes a maintenance declared, for the status admin: (text, admin link). Reads only."""
    from django.urls import reverse

    windows = FreezeWindow.objects.select_related("environment").filter(maintenance_id=maintenance_id)
    return [(f"{w.environment.slug}: {w}", reverse("admin:releases_freezewindow_change", args=[w.pk]))
            for w in windows.order_by("starts_at", "pk")]
