"""The deploy summary of a release as Markdown: version, changelog, evidence, checks, gate, approvals, deployments."""

from __future__ import annotations

from django.utils import timezone

from governance import hooks
from governance.models import Environment
from releases import gates, queries
from releases.models import Release

VERDICT = {"allow": "✅ allow", "block": "⛔ block", "pending": "⏳ pending"}


def _cell(text: object) -> str:
    # Table cells: keep one line and do not let a '|' open a new column.
    return str(text).replace("\n", " ").replace("|", "\\|").strip() or "—"


def render(release: Release, environment: Environment | None = None) -> str:
    environment = environment or queries.production_environment()
    service = release.service
    lines = [f"# {service.slug} {release.version}", ""]
    lines += [f"State: **{release.get_state_display()}** · registered {release.created_at:%Y-%m-%d %H:%M} UTC", ""]

    lines += ["## Evidence", "", "| | |", "|---|---|"]
    lines += [f"| tag | `{_cell(release.tag)}` |", f"| build SHA | `{_cell(release.build_sha)}` |",
              f"| schema hash | {('`' + _cell(release.schema_hash) + '`') if release.schema_hash else '—'} |",
              f"| pull request | {_cell(release.pr_url)} |", f"| author | {_cell(release.author)} |",
              f"| commits | {len(release.commits)} |",
              f"| bump | {_cell(release.bump)} |",
              f"| artifacts | {_cell(', '.join(sorted(release.artifacts)) if release.artifacts else '')} |",
              f"| evidence digest | `{release.evidence_digest}` (revision {release.evidence_revision}) |", ""]

    lines += ["## Changelog", "", release.changelog.strip() or "No changelog.", ""]

    lines += ["## Checks", ""]
    checks = list(release.checks.all())
    if checks:
        lines += ["| check | status | summary |", "|---|---|---|"]
        for c in checks:
            name = f"[{_cell(c.name)}]({c.url})" if c.url else _cell(c.name)
            stale = " (earlier evidence)" if c.evidence_digest != release.evidence_digest else ""
            lines.append(f"| {name} | {c.status}{stale} | {_cell(c.summary)} |")
    else:
        lines.append("No checks reported.")
    lines.append("")

    if environment is not None:
        decision = gates.evaluate(release, environment)
        lines += [f"## Gate: {environment.slug} — {VERDICT[decision.decision]}", "",
                  "| input | verdict | message |", "|---|---|---|"]
        for i in decision.inputs:
            lines.append(f"| {_cell(i.name)} | {VERDICT.get(i.verdict, i.verdict)} | {_cell(i.message)} |")
        lines.append("")

    lines += ["## Approvals", ""]
    now = timezone.now()
    approvals = list(release.approvals.select_related("approver", "environment"))
    if approvals:
        lines += ["| by | environment | at | status |", "|---|---|---|---|"]
        for a in approvals:
            status = queries.approval_status(a, release, now)
            lines.append(f"| {_cell(a.approver.get_username())} | {a.environment.slug} | "
                         f"{a.created_at:%Y-%m-%d %H:%M} | {_cell(status)} |")
    else:
        lines.append("No approvals.")
    lines.append("")

    lines += ["## Deployments", ""]
    deployments = list(release.deployments.select_related("environment", "requested_by"))
    if deployments:
        lines += ["| kind | environment | status | finished | by | reason |", "|---|---|---|---|---|---|"]
        for d in deployments:
            finished = f"{d.finished_at:%Y-%m-%d %H:%M}" if d.finished_at else "—"
            who = d.requested_by.get_username() if d.requested_by else "—"
            lines.append(f"| {d.kind} | {d.environment.slug} | {d.status} | {finished} | {_cell(who)} | "
                         f"{_cell(d.reason)} |")
    else:
        lines.append("Not deployed yet.")
    for section in hooks.SUMMARY_SECTIONS:
        text = section(release=release, deployments=deployments)
        if text:
            lines += ["", text.rstrip()]
    return "\n".join(lines) + "\n"
