"""What a PITR drill found (`PitrDrillEvidence`) and the Markdown page people read about it."""

from __future__ import annotations

from dataclasses import dataclass

from recovery.engine.evidence import Phase, Verdict, format_seconds, verdict_rows


@dataclass
class PitrDrillEvidence:
    drill_id: str
    passed: bool
    started_at: str
    finished_at: str
    total_seconds: float
    target_time: str
    base_backup_at: str
    last_replayed_at: str | None
    achieved_rpo_seconds: float | None
    rows_before_target: int
    rows_after_target: int
    recovered_before_target: int | None
    recovered_after_target: int | None
    archived_segments: int
    verdicts: list[Verdict]
    phases: list[Phase]
    recovery_error: str
    recovery_log_tail: str
    cleaned_up: bool
    options: dict[str, object]
    report_markdown: str = ""

    def verdict(self, layer: str) -> Verdict:
        return next(v for v in self.verdicts if v.layer == layer)


def render_pitr_report(ev: PitrDrillEvidence) -> str:
    outcome = "PASSED" if ev.passed else "FAILED"
    rpo = f"{ev.achieved_rpo_seconds:.6f} s" if ev.achieved_rpo_seconds is not None else "unknown"
    lines = [
        f"# Point-in-time recovery drill {outcome}",
        "",
        f"- Drill `{ev.drill_id}` ran from {ev.started_at} to {ev.finished_at} ({format_seconds(ev.total_seconds)}).",
        f"- Base backup finished at {ev.base_backup_at or 'n/a'}; {ev.archived_segments} WAL segment(s) archived.",
        f"- Recovery target: {ev.target_time or 'n/a'}; last replayed commit: {ev.last_replayed_at or 'n/a'}.",
        f"- Achieved RPO: {rpo}.",
        f"- Rows written before the target: {ev.rows_before_target}, recovered: {_n(ev.recovered_before_target)}; "
        f"after the target: {ev.rows_after_target}, recovered: {_n(ev.recovered_after_target)} (must be 0).",
        f"- Throwaway clusters and directories removed: {'yes' if ev.cleaned_up else '**no**'}.",
        "",
        "## Verdicts",
        "",
        *verdict_rows(ev.verdicts),
        "",
        "## Phases",
        "",
        "| phase | started | took |",
        "|---|---|---|",
        *[f"| {p.name} | {p.started_at} | {format_seconds(p.seconds)} |" for p in ev.phases],
    ]
    if ev.recovery_error:
        lines += ["", "## Recovery log (tail)", "", "```", ev.recovery_log_tail, "```"]
    return "\n".join(lines) + "\n"


def _n(value: int | None) -> str:
    return "n/a" if value is None else str(value)
