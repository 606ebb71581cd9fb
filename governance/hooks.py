"""Extension points between apps, so that no app imports another's internals.

Apps register callables in their AppConfig.ready():
- SERVICE_CREATED: f(*, service, actor, reason) -> None, run inside create_service's transaction
  (flags creates the built-in operational flags, observability seeds the default SLOs).
- GATE_INPUTS: name -> f(*, release, environment) -> GateInput; the release gate evaluates every one
  (releases adds required checks, soak, approvals, freeze; observability the error budget; schema plans
  the contract-migration check). A gate lists every input with its verdict.
- DEPLOYMENT_RECORDED: f(*, deployment) -> None, run on commit after a deployment is recorded
  (observability takes the SLO snapshots before/after a production deployment).
- SUMMARY_SECTIONS: f(*, release, deployments) -> str, Markdown appended to a release's deploy summary
  (observability adds the SLO snapshots taken around its production deployments).
- MAINTENANCE_CHANGED: f(*, service, environment, engaged, actor, reason) -> None, run inside the flag change's
  transaction whenever a service's `maintenance_mode` turns on or off (the status app puts components under
  maintenance).
- SNAPSHOT_MEMBERS: f(*, service, environment, now) -> (members, revision_bump), run by the flag snapshot build:
  extra top-level members of the signed body and a number added to its revision (chaos adds "faults").
- SNAPSHOT_CHANGED: f() -> None; flags registers its "rebuild and push every snapshot" (cache generation bump
  + the push plane). An app whose SNAPSHOT_MEMBERS changed calls each inside its writing transaction.
- BREAK_GLASS_ACTIONS: action -> f(*, entry, actor) -> str, replays a break-glass entry whose action is not a
  flag's (chaos: "halt-chaos"); flags.breakglass records it once like a kill switch.
- ALERT_OPENED: f(*, alert_id, service_id, action, summary) -> None, run inside the checker's transaction when
  a burn-rate alert opens (the status app proposes a component status for paging alerts).
- EVIDENCE_SECTIONS: name -> f(*, start, end, service) -> {relative_path: file_bytes}, the files an auditor's
  evidence pack holds for that range (and service, or every service when None): JSON (canonical: sort_keys,
  UTF-8) and Markdown reports. Reads only: the pack runs them in a read-only transaction
  (governance/evidence_pack.py; releases, recovery and observability register theirs).
- EVIDENCE_VALIDATORS: f(*, artifacts) -> None, run by release registration before the evidence digest; raises
  ValidationError({"artifacts": "…"}) to refuse the evidence (supplychain validates `artifacts.sbom`).
- EVIDENCE_RECORDED: f(*, release, actor, reason) -> None, run inside the registration's transaction after a
  release is created or its evidence amended (supplychain stores the SBOM's components and its findings).
- MAINTENANCE_WINDOWS: f(*, service_id, start, end) -> list[(start, end)], the maintenance windows of a service
  declared before they began, overlapping [start, end) (status: scheduled maintenance); SLOs with
  `exclude_maintenance` leave those minutes out.
- MAINTENANCE_FREEZE: f(*, maintenance_id, service, title, note, environments, starts_at, ends_at, now, actor,
  reason) -> None, run inside the status service's transaction whenever a scheduled maintenance is scheduled,
  rescheduled or completed (releases: one FreezeWindow per environment of `environments` over [starts_at,
  ends_at), linked to `maintenance_id`; an empty `environments` ends them: removed if not started, cut at `now`
  if in progress, kept if over).
- MAINTENANCE_FREEZES: f(*, maintenance_id) -> list[(text, admin_url)], the freeze windows a maintenance declared
  (reads only; releases; the status admin shows them).
- MAINTENANCE_MODE: "available" -> f(*, service, environment) -> bool (the service has `maintenance_mode` there);
  "engage" -> f(*, service, environment, until, actor, reason) -> int | None (the flag revision it set, None when
  maintenance mode was already on: left alone); "release" -> f(*, service, environment, revision, actor, reason)
  -> str ("released", "change-request" where a second person must approve, "left" when someone changed it
  since `revision`); "describe" -> f(*, service, environment, revision) -> str (maintenance mode as it stands:
  on/off, until when, whether still as the maintenance set it, a change request waiting; reads only); "extend"
  -> f(*, service, environment, revision, until, actor, reason) -> int | None (a running maintenance's new end:
  the new revision, None when someone changed it since); "max_duration" -> f() -> timedelta. Flags
  registers them (its own enter/exit_maintenance services); the status app calls them
  when a maintenance that asked for maintenance mode starts and completes.
- DRILL_FAULTS: f(*, service, environment, active, actor, reason) -> None, run inside chaos's writing transaction
  when a service's chaos faults in an environment go from none in force to some (active=True) or back (False,
  also for faults that only expired: the chaos watchdog reports those); may be called again with the same
  value (receivers are idempotent). The status app shows a production drill on the service's components.
- TIMELINE_EVENTS: f(*, start, end, service_id) -> list[governance.timeline.Entry], records that are not in the
  audit trail but belong on an incident's timeline (recovery: drills; observability: alerts other apps raised).
- NOTIFICATION_CHANNELS: f(*, service_id: int | None) -> list[governance.notifications.routing.ChannelSpec], the
  enabled channels for portal-wide alerts (and that service's) (observability: its NotificationChannel rows).
- NOTIFICATION_DELIVERED: f(*, message, deliveries, event, alert_id) -> None, run after a message was sent
  (observability records NotificationDelivery rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["allow", "block", "pending"]


@dataclass(frozen=True)
class GateInput:
    """One input's verdict, with a machine-readable code and the figures behind it."""

    name: str
    verdict: Verdict
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


SERVICE_CREATED: list[Callable[..., None]] = []
GATE_INPUTS: dict[str, Callable[..., GateInput]] = {}
DEPLOYMENT_RECORDED: list[Callable[..., None]] = []
SUMMARY_SECTIONS: list[Callable[..., str]] = []
MAINTENANCE_CHANGED: list[Callable[..., None]] = []
ALERT_OPENED: list[Callable[..., None]] = []
SNAPSHOT_MEMBERS: list[Callable[..., tuple[dict[str, Any], int]]] = []
SNAPSHOT_CHANGED: list[Callable[[], None]] = []
BREAK_GLASS_ACTIONS: dict[str, Callable[..., str]] = {}
EVIDENCE_SECTIONS: dict[str, Callable[..., dict[str, bytes]]] = {}
# name -> f(*, start: datetime, end: datetime, service: Service | None) -> {relative_path: file_bytes}
EVIDENCE_VALIDATORS: list[Callable[..., None]] = []
EVIDENCE_RECORDED: list[Callable[..., None]] = []
NOTIFICATION_CHANNELS: list[Callable[..., list[Any]]] = []
NOTIFICATION_DELIVERED: list[Callable[..., None]] = []
MAINTENANCE_WINDOWS: list[Callable[..., list[Any]]] = []
TIMELINE_EVENTS: list[Callable[..., list[Any]]] = []
MAINTENANCE_FREEZE: list[Callable[..., None]] = []
MAINTENANCE_FREEZES: list[Callable[..., list[tuple[str, str]]]] = []
MAINTENANCE_MODE: dict[str, Callable[..., Any]] = {}
DRILL_FAULTS: list[Callable[..., None]] = []
