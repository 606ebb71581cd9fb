"""A run's Markdown report (the evidence record, like a restore drill's)."""

from __future__ import annotations

import json
from typing import Any

from governance.formatting import when


def _value(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 120 else text[:119] + "…"


def markdown(run: Any) -> str:
    from chaos import queries

    lines = [
        f"# Chaos run #{run.pk}: {run.definition.get('title', run.experiment.key)}",
        "",
        f"- Experiment: `{run.service.slug}/{run.experiment.key}` version {run.experiment_version}",
        f"- Environment: `{run.environment.slug}`",
        f"- Status: **{run.status}**",
        f"- Verdict: {run.verdict or '-'}",
        f"- Requested by: {run.requested_by.get_username()} — {run.reason}",
    ]
    if run.approved_by_id:
        lines.append(f"- Approved by: {run.approved_by.get_username()} at {when(run.approved_at)}")
    if run.started_at:
        lines.append(f"- Started: {when(run.started_at)}")
    lines += ["", "## Phases", "", "| phase | status | started | ended | detail |", "|---|---|---|---|---|"]
    for phase in run.phases or []:
        lines.append(f"| {phase.get('name')} | {phase.get('status')} | {phase.get('started_at') or '-'} | "
                     f"{phase.get('ended_at') or '-'} | {_value(phase.get('detail', ''))} |")
    probes = [(phase.get("name"), probe) for phase in run.phases or [] for probe in phase.get("probes") or []]
    if probes:
        lines += ["", "## Probes", "", "| phase | probe | value | tolerance | ok |", "|---|---|---|---|---|"]
        for phase_name, probe in probes:
            lines.append(f"| {phase_name} | {probe.get('name')} | {_value(probe.get('value'))} | "
                         f"{_value(probe.get('tolerance'))} | {'yes' if probe.get('ok') else 'NO'} |")
    faults = list(run.faults.order_by("pk")) if run.pk else []
    if faults:
        lines += ["", "## Faults", "", "| id | kind | params | scope | created | ended | removal |",
                  "|---|---|---|---|---|---|---|"]
        for fault in faults:
            ended = fault.removed_at or fault.expires_at
            lines.append(f"| {fault.pk} | {fault.kind} | {_value(fault.params)} | {_value(fault.scope)} | "
                         f"{when(fault.created_at)} | {when(ended)} | {_value(fault.removal_reason or 'expired')} |")
    if run.started_at:
        burn = queries.chaos_burn(service=run.service, environment=run.environment,
                                  start=run.started_at.replace(second=0, microsecond=0),
                                  end=(run.ended_at or run.started_at) if run.ended_at else run.started_at)
        lines += ["", "## Error budget", "",
                  f"SLI events during the run: {burn['total']} ({burn['errors']} errors); recorded while a fault was "
                  f"in force: {burn['chaos_total']} ({burn['chaos_errors']} errors, shown apart in budget reports)."]
    return "\n".join(lines) + "\n"
