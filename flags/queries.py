"""Reads that encode a rule: stale flags, SDK instances on the current revision, the ops console."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from flags import expiry
from flags.models import ChangeRequest, Flag, FlagState, Kind, SdkInstance, SdkReceipt
from governance.models import Environment, Service


@dataclass(frozen=True)
class StaleFlag:
    flag: Flag
    why: str


def _state_signature(state: FlagState) -> str:
    return json.dumps([state.enabled, state.strategies, state.variants, state.dependencies, state.number],
                      sort_keys=True)


def stale_flags(*, now: datetime | None = None, unchanged_days: int | None = None,
                service: Service | None = None) -> list[StaleFlag]:
    """Active flags past their expected lifetime, or (temporary flags) unchanged and identical in
    every environment for `unchanged_days` (FLAGS_STALE_DAYS): the rollout is over, remove the flag.

    Permanent flags (no expected lifetime: kill switches, permissions) are never stale.
    """
    now = now or timezone.now()
    unchanged = timedelta(days=unchanged_days if unchanged_days is not None else settings.FLAGS_STALE_DAYS)
    flags = (Flag.objects.filter(archived_at__isnull=True, expected_lifetime_days__isnull=False)
             .select_related("service").prefetch_related("states").annotate(last_change=Max("states__updated_at")))
    if service is not None:
        flags = flags.filter(service=service)
    stale = []
    for flag in flags:
        lifetime = cast(int, flag.expected_lifetime_days)  # the query excludes flags without one
        due = flag.created_at + timedelta(days=lifetime)
        if due <= now:
            stale.append(StaleFlag(flag, f"past its expected lifetime ({flag.expected_lifetime_days} days, "
                                         f"due {due:%Y-%m-%d})"))
            continue
        states = list(flag.states.all())
        if (states and flag.last_change is not None and flag.last_change <= now - unchanged
                and len({_state_signature(s) for s in states}) == 1):
            stale.append(StaleFlag(flag, f"identical in every environment and unchanged since "
                                         f"{flag.last_change:%Y-%m-%d}"))
    return stale


def stale_flag_ids(**kwargs: Any) -> set[int]:
    return {s.flag.pk for s in stale_flags(**kwargs)}


@dataclass(frozen=True)
class Applied:
    revision: int
    current: int
    seen: int

    def __str__(self) -> str:
        return f"applied on {self.current}/{self.seen} instances" if self.seen else "no SDK instance seen"


def current_revision(*, service: Service, environment: Environment, now: datetime | None = None) -> int:
    """The revision the snapshot serves: its flag states' highest, plus what other members add (chaos faults)."""
    from flags.snapshots import extra_members

    states = FlagState.objects.filter(flag__service=service, environment=environment).aggregate(
        r=Max("revision"))["r"] or 0
    return states + extra_members(service, environment, now=now or timezone.now())[1]


def applied(*, service: Service, environment: Environment, now: datetime | None = None) -> Applied:
    """SDK instances seen in the last FLAGS_INSTANCE_WINDOW_MINUTES, and how many serve the current revision."""
    now = now or timezone.now()
    revision = current_revision(service=service, environment=environment)
    recent = SdkInstance.objects.filter(service=service, environment=environment,
                                        last_seen__gte=now - timedelta(minutes=settings.FLAGS_INSTANCE_WINDOW_MINUTES))
    return Applied(revision=revision, current=recent.filter(revision__gte=revision).count(), seen=recent.count())


@dataclass(frozen=True)
class Propagation:
    """Which SDK instances applied a change (a state's revision), and when: its propagation receipts."""

    revision: int
    receipts: list[tuple[str, datetime]]  # (instance id, when the portal heard it applied the revision), first first
    seen: int  # instances seen in the last FLAGS_INSTANCE_WINDOW_MINUTES

    def __str__(self) -> str:
        return f"applied on {len(self.receipts)}/{self.seen} instances" if self.seen else "no SDK instance seen"


def propagation(state: FlagState, *, now: datetime | None = None) -> Propagation:
    """Receipts of the change that gave `state` its revision: each instance's first report of a snapshot
    revision at least as new (revisions come from one sequence, so a newer snapshot includes the change)."""
    now = now or timezone.now()
    recent = SdkInstance.objects.filter(service_id=state.flag.service_id, environment_id=state.environment_id,
                                        last_seen__gte=now - timedelta(minutes=settings.FLAGS_INSTANCE_WINDOW_MINUTES))
    rows = (SdkReceipt.objects.filter(service_id=state.flag.service_id, environment_id=state.environment_id,
                                      revision__gte=state.revision, instance_id__in=recent.values("instance_id"))
            .values("instance_id").annotate(first=Min("applied_at")).order_by("first", "instance_id"))
    return Propagation(revision=state.revision, receipts=[(r["instance_id"], r["first"]) for r in rows],
                       seen=recent.count())


def served(states: Iterable[FlagState], *, now: datetime | None = None) -> list[FlagState]:
    """The states as they are served at `now`: an ended emergency toggle shows what it restored.

    In memory only (reads never write); `flags.expiry` decides, the expiry job records the revert.
    """
    now = now or timezone.now()
    rows = list(states)
    for state in rows:
        values = expiry.effective(state, now=now)
        if values["expires_at"] != state.expires_at:
            state.enabled, state.number, state.expires_at = values["enabled"], values["number"], None
            state.revert_to = None
    return rows


def operational_states(*, service: Service) -> list[FlagState]:
    """The ops console's rows (as served now): kill switches and operational flags in every environment."""
    return served(FlagState.objects.filter(flag__service=service, flag__archived_at__isnull=True,
                                           flag__kind__in=[Kind.KILL_SWITCH, Kind.OPERATIONAL])
                  .select_related("flag", "environment")
                  .order_by("-environment__is_production", "-environment__order", "flag__key"))  # production first


TOGGLE_FIELDS = ("enabled", "number", "strategies", "expires_at")
LAST_TOGGLE_SCAN = 200  # history records looked at per state; older toggles read as "earlier"


def last_toggle(state: FlagState) -> Any:
    """The history record that last changed what the state serves (on/off, value, rollout, expiry): who, when, why.

    A save that changed nothing served (a description edit saved through the flag's form) is not a toggle.
    None when the scan finds no change (the state was created as it is, or the toggle is older than the scan).
    """
    records = list(state.history.select_related("history_user").order_by("-history_date", "-history_id")
                   [:LAST_TOGGLE_SCAN + 1])
    for newer, older in zip(records, records[1:], strict=False):
        if any(getattr(newer, f) != getattr(older, f) for f in TOGGLE_FIELDS):
            return newer
    return records[-1] if records and len(records) <= LAST_TOGGLE_SCAN else None


def pending_requests_by_state(states: list[FlagState]) -> dict[int, list[ChangeRequest]]:
    """Pending change requests of these states, per state id (the ops console shows them on the row)."""
    out: dict[int, list[ChangeRequest]] = {}
    for cr in (ChangeRequest.objects.filter(state__in=states, status=ChangeRequest.Status.PENDING)
               .select_related("author").order_by("created_at")):
        out.setdefault(cr.state_id, []).append(cr)
    return out


def states_for_api(*, service: Service, environments: list[Environment] | None = None,
                   pk: int | None = None) -> list[FlagState]:
    """Active flags' states of a service (in `environments`, or all; one with `pk`), with their pending change
    requests, as served now."""
    states = (FlagState.objects.filter(flag__service=service, flag__archived_at__isnull=True)
              .select_related("flag", "flag__service", "environment")
              .annotate(pending_change_requests=Count(
                  "change_requests", filter=Q(change_requests__status=ChangeRequest.Status.PENDING)))
              .order_by("flag__key", "environment__order", "environment__slug"))
    if environments is not None:
        states = states.filter(environment__in=environments)
    if pk is not None:
        states = states.filter(pk=pk)
    return served(states)


def change_request_diff(change_request: ChangeRequest) -> list[tuple[str, str, str]]:
    """(field, now, after approval) for each field the request sets, as text; the state is read as it is now."""
    state = change_request.state
    rows = []
    for field, after in sorted(change_request.payload.items()):
        before = getattr(state, field, None)
        if isinstance(before, bool) or isinstance(after, bool):
            text = ("on" if before else "off", "on" if after else "off")
        else:
            text = (json.dumps(before, sort_keys=True, ensure_ascii=False),
                    json.dumps(after, sort_keys=True, ensure_ascii=False))
        rows.append((field, *text))
    return rows
