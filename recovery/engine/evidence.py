"""Building blocks of evidence records: timed phases and layer verdicts (all JSON-serialisable)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

PASS = "pass"  # noqa: S105 - a verdict status, not a secret
FAIL = "fail"
SKIPPED = "skipped"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware moment")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return moment


@dataclass
class Phase:
    """One measured step; phases may overlap (the manifest is computed while pg_dump runs)."""

    name: str
    seconds: float
    started_at: str


@dataclass
class Verdict:
    """The outcome of one verification layer; `problems` name each table or query at fault."""

    layer: str
    status: str
    summary: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASS


class PhaseClock:
    """Records phases as they run, so evidence lists every step even when a later one fails."""

    def __init__(self) -> None:
        self.phases: list[Phase] = []

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started_at = iso(utc_now())
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases.append(Phase(name=name, seconds=round(time.monotonic() - started, 4), started_at=started_at))

    def seconds(self, name: str) -> float:
        return sum(p.seconds for p in self.phases if p.name == name)


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)} min {rest:.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min"


def verdict_rows(verdicts: list[Verdict]) -> list[str]:
    """Markdown table of verdicts followed by the problems each one found."""
    lines = ["| layer | verdict | took | summary |", "|---|---|---|---|"]
    for v in verdicts:
        summary = " ".join(v.summary.split()).replace("|", "\\|")
        lines.append(f"| {v.layer} | **{v.status.upper()}** | {format_seconds(v.seconds)} | {summary} |")
    for v in verdicts:
        if v.problems:
            lines += ["", f"Problems found by **{v.layer}**:", ""]
            lines += [f"- {p}" for p in v.problems]
    return lines
