"""The post-incident review draft: Markdown a person completes (reads only).

The timeline runs from an hour before the incident started to its resolution (or now), assembled from the audit
trail and the records apps add (governance.timeline): deployments, flag and kill-switch changes, schema-plan
steps, alerts, drills and the incident's own updates. "What changed just before it broke" comes first: the
changes (not the alerts or the incident itself) in the hour before the start, newest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from governance import formatting, timeline
from status import drafts
from status.models import Incident

LOOKBACK = timedelta(hours=1)
TAIL = timedelta(minutes=1)
CHANGE_KINDS = {"deployment", "flag", "schema plan", "drill"}


def _is_change_before(entry: timeline.Entry, start: datetime) -> bool:
    """A change that can break something: not the creation of a flag (it starts off and changes nothing)."""
    return entry.at < start and entry.kind in CHANGE_KINDS and not (entry.kind == "flag"
                                                                     and entry.change == "created")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _offset(at: datetime, start: datetime) -> str:
    sign = "-" if at < start else "+"
    minutes, secs = divmod(int(abs((at - start).total_seconds())), 60)
    hours, minutes = divmod(minutes, 60)
    return f"T{sign}{hours}:{minutes:02d}:{secs:02d}"


def draft(incident: Incident, *, now: datetime | None = None) -> str:
    now = now or timezone.now()
    start = incident.started_at
    end = incident.resolved_at or now
    # The records of the resolution are written a moment after `resolved_at`: a minute's margin keeps them.
    found = timeline.entries(start=start - LOOKBACK, end=end + TAIL, service_id=incident.service_id)
    before = [e for e in found if _is_change_before(e, start)]
    components = ", ".join(c.name for c in incident.components.all()) or "—"
    commander = incident.commander.get_username() if incident.commander else "—"
    lines = [
        f"# Post-incident review (draft): {incident.name}",
        "",
        f"- Service: {incident.service.slug}; components: {components}",
        f"- Impact: {incident.impact}; status: {incident.status}; commander: {commander}",
        f"- Started: {formatting.when(start)}; resolved: "
        f"{formatting.when(incident.resolved_at) if incident.resolved_at else 'not yet'}; duration: "
        f"{formatting.duration(end - start)}",
        f"- Measured impact: {drafts.impact_sentence(incident.service, start, incident.resolved_at)}",
        "",
        "## What changed just before it broke",
        "",
    ]
    if before:
        lines += [f"- **{_offset(e.at, start)}** ({formatting.when(e.at)}) **{e.kind}**: {e.what} — {e.who}: "
                  f"\"{_cell(e.reason)}\"" for e in reversed(before)]
    else:
        lines.append(f"No deployment, flag, schema-plan or drill change in the {int(LOOKBACK.total_seconds() // 60)} "
                     "minutes before the start.")
    lines += [
        "",
        f"## Timeline (UTC, from {int(LOOKBACK.total_seconds() // 60)} min before the start)",
        "",
        "| Time | From start | Kind | What | Who | Reason |",
        "|---|---|---|---|---|---|",
    ]
    marked = False
    for e in found:
        if e.at >= start and not marked:
            lines.append(f"| **{start:%Y-%m-%d %H:%M:%S}** | **T+0** | **start** | **the incident starts** | | |")
            marked = True
        emphasis = "**" if _is_change_before(e, start) else ""
        lines.append(f"| {emphasis}{e.at:%Y-%m-%d %H:%M:%S}{emphasis} | {_offset(e.at, start)} | "
                     f"{emphasis}{e.kind}{emphasis} | {_cell(e.what)} | {_cell(e.who)} | {_cell(e.reason)} |")
    if not marked:
        lines.append(f"| **{start:%Y-%m-%d %H:%M:%S}** | **T+0** | **start** | **the incident starts** | | |")
    lines += [
        "",
        "## Contributing factors",
        "",
        "- (to fill in)",
        "",
        "## What went well / what did not",
        "",
        "- (to fill in)",
        "",
        "## Action items",
        "",
        "| Action | Owner | Due |",
        "|---|---|---|",
        "| (to fill in) | | |",
        "",
        f"_Drafted by the portal at {formatting.when(now)} from the audit trail; edit before sharing._",
        "",
    ]
    return "\n".join(lines)
