"""The DORA page's figures: table rows with bar widths and a server-side SVG bar chart (no JavaScript)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from governance import formatting
from releases.queries import DoraReport

WIDTH, HEIGHT, PAD = 720, 220, 32


def duration(value: timedelta | None) -> str:
    return "—" if value is None else formatting.duration(value)


def rows(report: DoraReport) -> list[dict[str, Any]]:
    most = max([p.deployments for p in report.periods] + [1])
    out = []
    for p in report.periods:
        out.append({
            "start": p.start, "deployments": p.deployments, "bar": round(100 * p.deployments / most),
            "lead_time": duration(p.lead_time_median), "failures": p.failures,
            "failure_rate": "—" if p.change_failure_rate is None else formatting.percent(p.change_failure_rate, digits=1),
            "failure_bar": round(100 * (p.change_failure_rate or 0)),
            "restore": duration(p.time_to_restore_median),
        })
    return out


def svg(report: DoraReport) -> SafeString:
    """Deployments per period (bars) with failed changes stacked in red; labelled for screen readers."""
    periods = report.periods
    most = max([p.deployments for p in periods] + [1])
    slot = (WIDTH - 2 * PAD) / max(len(periods), 1)
    bar = max(slot * 0.7, 1)
    scale = (HEIGHT - 2 * PAD) / most
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
             f'height="{HEIGHT}" role="img" aria-labelledby="dora-title">',
             f'<title id="dora-title">Production deployments per {escape(report.period)}, failed changes in '
             f'red</title>',
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#888"/>',
             f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end" font-size="11">{most}</text>',
             f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end" font-size="11">0</text>']
    for i, p in enumerate(periods):
        x = PAD + i * slot + (slot - bar) / 2
        ok_height = (p.deployments - p.failures) * scale
        bad_height = p.failures * scale
        y = HEIGHT - PAD - ok_height - bad_height
        label = f"{p.start:%Y-%m-%d}: {p.deployments} deployments, {p.failures} failed"
        parts.append(f'<g><title>{escape(label)}</title>'
                     f'<rect x="{x:.1f}" y="{y + bad_height:.1f}" width="{bar:.1f}" height="{ok_height:.1f}" '
                     f'fill="#417690"/>'
                     f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{bad_height:.1f}" fill="#ba2121"/></g>')
        if len(periods) <= 16 or i % max(len(periods) // 8, 1) == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle" '
                         f'font-size="10">{p.start:%m-%d}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def totals(report: DoraReport) -> dict[str, str]:
    t = report.total
    return {"lead_time": duration(t.lead_time_median), "restore": duration(t.time_to_restore_median),
            "failure_rate": "—" if t.change_failure_rate is None else formatting.percent(t.change_failure_rate, digits=1)}
