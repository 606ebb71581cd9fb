"""Server-side SVG of an error budget's burn-down, readable without JavaScript.

The chart plots the remaining budget fraction (1 = untouched, 0 = exhausted, below 0 =
overspent) against time, with the ideal line (the budget spent evenly over the window) for
comparison. Only presentation attributes are used (no <style>, no script), so the SVG renders
inline under a strict Content-Security-Policy. The plot area is a `<rect class="plot-area">`
carrying `data-y-min`/`data-y-max`, which is what a reader (or a test) needs to map values back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from xml.sax.saxutils import escape, quoteattr

MARGIN_LEFT = 56
MARGIN_RIGHT = 20
MARGIN_TOP = 36
MARGIN_BOTTOM = 44

COLOUR_REMAINING = "#1f5fbf"
COLOUR_IDEAL = "#6b6b6b"
COLOUR_EXHAUSTED = "#b3261e"
COLOUR_GRID = "#d9d9d9"
COLOUR_TEXT = "#222222"


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%".replace(".0%", "%")


def _tick_step(span: float) -> float:
    # Readable steps (25%, 50%, 100%, 200%, 500% ...) giving at most ~6 gridlines.
    for step in (0.25, 0.5, 1, 2, 5, 10, 20, 50, 100):
        if span / step <= 6:
            return step
    return 10 ** math.ceil(math.log10(span / 6))


def render_burndown_svg(
    series: Sequence[tuple[datetime, float | Fraction]],
    width: int = 640,
    height: int = 260,
    title: str = "Error budget burn-down",
    element_id: str = "burndown",
) -> str:
    """An SVG document (as text) of remaining budget over time; `series` is sorted by time.

    `element_id` prefixes the ids of the title and description, so several charts can be inlined in one page.
    """
    if not element_id.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"element_id: letters, digits, - and _ only, got {element_id!r}")
    if width < MARGIN_LEFT + MARGIN_RIGHT + 40 or height < MARGIN_TOP + MARGIN_BOTTOM + 40:
        raise ValueError(f"width/height too small for a readable chart: {width}x{height}")
    times = [moment for moment, _ in series]
    if times != sorted(times):
        raise ValueError("series: must be sorted by time")
    values = [float(value) for _, value in series]

    plot_x, plot_y = MARGIN_LEFT, MARGIN_TOP
    plot_w, plot_h = width - MARGIN_LEFT - MARGIN_RIGHT, height - MARGIN_TOP - MARGIN_BOTTOM
    y_min = min([0.0, *values])
    y_max = max([1.0, *values])
    step = _tick_step(y_max - y_min)
    y_min = math.floor(y_min / step) * step
    y_max = math.ceil(y_max / step) * step

    start = times[0] if times else None
    span = (times[-1] - times[0]).total_seconds() if times else 0.0

    def x_of(moment: datetime) -> float:
        if start is None or span == 0:
            return plot_x
        return plot_x + plot_w * (moment - start).total_seconds() / span

    def y_of(value: float) -> float:
        return plot_y + plot_h * (y_max - value) / (y_max - y_min)

    if values:
        summary = f"Remaining error budget {_percent(values[-1])} at {times[-1]:%Y-%m-%d %H:%M %Z}".strip()
        summary += f", window from {times[0]:%Y-%m-%d %H:%M} to {times[-1]:%Y-%m-%d %H:%M}."
    else:
        summary = "No data in this window."

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="{element_id}-title {element_id}-desc" '
        f'font-family="sans-serif" font-size="11">',
        f'<title id="{element_id}-title">{escape(title)}</title>',
        f'<desc id="{element_id}-desc">{escape(summary)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{MARGIN_LEFT}" y="20" font-size="14" font-weight="bold" fill="{COLOUR_TEXT}">{escape(title)}</text>',
        f'<rect class="plot-area" x="{plot_x}" y="{plot_y}" width="{plot_w}" height="{plot_h}" '
        f'data-y-min="{y_min:g}" data-y-max="{y_max:g}" fill="none" stroke="{COLOUR_GRID}"/>',
    ]

    out.append('<g class="y-axis">')
    ticks = round((y_max - y_min) / step)
    for i in range(ticks + 1):
        value = y_min + i * step
        y = _fmt(y_of(value))
        colour = COLOUR_EXHAUSTED if value == 0 else COLOUR_GRID
        out.append(f'<line x1="{plot_x}" y1="{y}" x2="{plot_x + plot_w}" y2="{y}" stroke="{colour}"/>')
        out.append(
            f'<text x="{plot_x - 6}" y="{y}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{COLOUR_TEXT}">{escape(_percent(value))}</text>'
        )
    out.append("</g>")

    out.append('<g class="x-axis">')
    out.append(
        f'<line x1="{plot_x}" y1="{plot_y + plot_h}" x2="{plot_x + plot_w}" y2="{plot_y + plot_h}" stroke="{COLOUR_TEXT}"/>'
    )
    if times:
        labels = [(times[0], "start")]
        if span:
            labels += [(times[0] + (times[-1] - times[0]) / 2, "middle"), (times[-1], "end")]
        for moment, anchor in labels:
            out.append(
                f'<text x="{_fmt(x_of(moment))}" y="{plot_y + plot_h + 16}" text-anchor="{anchor}" '
                f'fill="{COLOUR_TEXT}">{escape(f"{moment:%d %b %H:%M}")}</text>'
            )
    out.append("</g>")

    if times:
        out.append(
            f'<line class="ideal" x1="{_fmt(x_of(times[0]))}" y1="{_fmt(y_of(1.0))}" '
            f'x2="{_fmt(x_of(times[-1]))}" y2="{_fmt(y_of(0.0))}" stroke="{COLOUR_IDEAL}" '
            f'stroke-width="1.5" stroke-dasharray="6 4"><title>Ideal: budget spent evenly over the window</title></line>'
        )
        points = " ".join(f"{_fmt(x_of(t))},{_fmt(y_of(v))}" for t, v in zip(times, values, strict=True))
        out.append(
            f'<polyline class="remaining" points={quoteattr(points)} fill="none" '
            f'stroke="{COLOUR_REMAINING}" stroke-width="2"><title>Remaining error budget</title></polyline>'
        )
        last_x, last_y = x_of(times[-1]), y_of(values[-1])
        colour = COLOUR_EXHAUSTED if values[-1] <= 0 else COLOUR_REMAINING
        out.append(f'<circle class="current" cx="{_fmt(last_x)}" cy="{_fmt(last_y)}" r="3.5" fill="{colour}"/>')
        out.append(
            f'<text class="current-label" x="{_fmt(last_x - 6)}" y="{_fmt(last_y - 8)}" text-anchor="end" '
            f'fill="{colour}" font-weight="bold">{escape(_percent(values[-1]))} left</text>'
        )
    else:
        out.append(
            f'<text x="{_fmt(plot_x + plot_w / 2)}" y="{_fmt(plot_y + plot_h / 2)}" text-anchor="middle" '
            f'fill="{COLOUR_TEXT}">No data in this window</text>'
        )

    legend_y = height - 10
    out.append('<g class="legend">')
    out.append(
        f'<line x1="{plot_x}" y1="{legend_y - 4}" x2="{plot_x + 18}" y2="{legend_y - 4}" '
        f'stroke="{COLOUR_REMAINING}" stroke-width="2"/>'
    )
    out.append(f'<text x="{plot_x + 24}" y="{legend_y}" fill="{COLOUR_TEXT}">Remaining budget</text>')
    out.append(
        f'<line x1="{plot_x + 140}" y1="{legend_y - 4}" x2="{plot_x + 158}" y2="{legend_y - 4}" '
        f'stroke="{COLOUR_IDEAL}" stroke-width="1.5" stroke-dasharray="6 4"/>'
    )
    out.append(f'<text x="{plot_x + 164}" y="{legend_y}" fill="{COLOUR_TEXT}">Ideal (even spend)</text>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
