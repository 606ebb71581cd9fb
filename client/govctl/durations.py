"""The one duration parser of govctl: every duration option takes an explicit unit.

`30` alone is refused (it used to mean seconds in `gate wait --timeout` and minutes in `flags kill --expires-in`);
`500ms`, `90s`, `15m`, `2h`, `1d` are accepted everywhere, and each option converts to what it needs.
"""

from __future__ import annotations

import argparse
import math
import re

_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|sec|m|min|h|d)", re.IGNORECASE)
_SECONDS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
EXAMPLES = "e.g. 500ms, 90s, 15m, 2h, 1d"


def parse_seconds(text: str) -> float:
    """Seconds in a duration with its unit; argparse-friendly (raises ArgumentTypeError)."""
    stripped = text.strip()
    match = _DURATION.fullmatch(stripped)
    if not match:
        if re.fullmatch(r"\d+(\.\d+)?", stripped):
            raise argparse.ArgumentTypeError(f"{text!r} is not a duration: give a unit ({EXAMPLES})")
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration ({EXAMPLES})")
    seconds = float(match.group("number")) * _SECONDS[match.group("unit").lower()]
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration ({EXAMPLES})")
    return seconds


def parse_minutes(text: str) -> int:
    """Whole, positive minutes in a duration with its unit (for expiries the portal keeps in minutes)."""
    seconds = parse_seconds(text)
    if seconds <= 0 or seconds % 60:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive whole number of minutes (e.g. 30m, 2h, 1d)")
    return int(seconds // 60)
