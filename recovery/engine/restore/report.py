"""What a restore drill found (`RestoreDrillEvidence`) and the Markdown page people read about it.

Separate from the drill so that callers storing or rendering evidence need not import the steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recovery.engine.evidence import Phase, Verdict, format_seconds, verdict_rows


@dataclass
class ObjectiveCheck:
    name: str
    target_seconds: float
    measured_seconds: float
    met: bool


@dataclass
class RestoreDrillEvidence:
    """Everything a restore drill did and found; `report_markdown` renders the same for people."""

    drill_id: str
    passed: bool
    backup_file: str
    backup_sha256: str
    backup_size_bytes: int
    source_database: str
    backup_taken_at: str
    shadow_database: str
    shadow_dropped: bool
    started_at: str
    finished_at: str
    recovery_seconds: float
    total_seconds: float
    objective: str
    objectives: list[ObjectiveCheck]
    verdicts: list[Verdict]
    phases: list[Phase]
    tables: int
    rows: int
    tampered: bool
    options: dict[str, object]
    pg_restore_version: str
    cleanup_error: str = ""
    report_markdown: str = ""

    def verdict(self, layer: str) -> Verdict:
        return next(v for v in self.verdicts if v.layer == layer)


def render_restore_report(ev: RestoreDrillEvidence) -> str:
    """The drill as a Markdown page: what was restored, when, how long each phase took, every verdict."""
    outcome = "PASSED" if ev.passed else "FAILED"
    lines = [
        f"# Restore drill {outcome}: {ev.source_database} from {Path(ev.backup_file).name}",
        "",
        f"- Drill `{ev.drill_id}` ran from {ev.started_at} to {ev.finished_at} ({format_seconds(ev.total_seconds)}).",
        f"- Backup: `{ev.backup_file}` ({ev.backup_size_bytes} bytes, sha256 `{ev.backup_sha256 or 'unknown'}`),"
        f" taken {ev.backup_taken_at or 'at an unknown time'} from database `{ev.source_database}`.",
        f"- Manifest: {ev.tables} table(s), {ev.rows} row(s).",
        f"- Restored into shadow database `{ev.shadow_database}`, which was "
        + ("dropped afterwards." if ev.shadow_dropped else f"**NOT dropped** ({ev.cleanup_error}): drop it by hand."),
        f"- Recovery time: {format_seconds(ev.recovery_seconds)}; objective `{ev.objective}`.",
    ]
    if ev.tampered:
        lines.append("- A tamper hook altered the shadow copy before verification (a damage test).")
    lines += ["", "## Verdicts", "", *verdict_rows(ev.verdicts)]
    lines += ["", "## Phases", "", "| phase | started | took |", "|---|---|---|"]
    lines += [f"| {p.name} | {p.started_at} | {format_seconds(p.seconds)} |" for p in ev.phases]
    lines += ["", "## Recovery time objectives", "", "| objective | target | measured | met |", "|---|---|---|---|"]
    lines += [
        f"| {o.name} | {format_seconds(o.target_seconds)} | {format_seconds(o.measured_seconds)} | {'yes' if o.met else 'no'} |"
        for o in ev.objectives
    ]
    lines += ["", f"Tools: {ev.pg_restore_version}."]
    return "\n".join(lines) + "\n"
