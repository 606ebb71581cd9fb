"""How numbers and times read on every screen: 99.9% (not 0.999), 3 days (not 259200 s), times with their zone.

The one home for display formatting: admin list displays call these functions, templates use the same ones as
filters (`{% load portal %}`: `|percent`, `|duration`, `|when`, governance/templatetags/portal.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

NO_DATA = "no data"
_UNITS = [("day", 86_400), ("h", 3_600), ("min", 60)]


def percent(ratio: float | Decimal | None, *, digits: int = 3) -> str:
    """A ratio as a percentage with up to `digits` decimals, trailing zeros dropped: 0.999 → "99.9%"."""
    if ratio is None:
        return NO_DATA
    text = f"{ratio * 100:.{digits}f}".rstrip("0").rstrip(".")
    return f"{'0' if text in ('', '-0') else text}%"


def duration(seconds: float | timedelta | None) -> str:
    """A duration in the two largest units that matter: 259200 → "3 days", 5400 → "1 h 30 min", 2.5 → "2.5 s"."""
    if seconds is None:
        return NO_DATA
    total = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
    sign, total = ("-" if total < 0 else ""), abs(total)
    if total < 60:
        return f"{sign}{total:.3g} s"
    parts: list[str] = []
    rest = round(total)
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {unit}s" if unit == "day" and count != 1 else f"{count} {unit}")
    if rest and total < 3_600:  # seconds matter next to minutes only
        parts.append(f"{rest} s")
    return sign + " ".join(parts[:2])


def when(moment: datetime | None, *, seconds: bool = False) -> str:
    """A moment in the portal's time zone, with the zone: "2026-12-05 20:38 UTC"."""
    if moment is None:
        return "—"
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
