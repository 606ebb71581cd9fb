"""The OpenSLO v1 vocabulary both directions share: names, the portal's annotations, durations, the error.

Portal-only options travel as `metadata.annotations` under the `governance.portal/` prefix: the OpenSLO v1
spec reserves annotations (`map[string]string`) for implementation-specific metadata, so every value is
written as a string, and other tools keep them untouched.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

API_VERSION = "openslo/v1"
METRIC_SOURCE_TYPE = "GovernancePortal"
ANNOTATION_MIN_EVENTS = "governance.portal/min-events"
ANNOTATION_EXCLUDE_MAINTENANCE = "governance.portal/exclude-maintenance"
LABEL_ENVIRONMENT = "environment"
SLICE_WINDOW = "1m"

_DURATION_RE = re.compile(r"^([1-9][0-9]*)([mhdwMQY])$")
_DURATION_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class OpenSloError(ValueError):
    """An invalid OpenSLO document; `field` is the dotted path of the offending field."""

    def __init__(self, field: str, message: str, *, document: int | None = None) -> None:
        self.field = field
        self.document = document
        self.detail = message
        where = f"document {document}: " if document is not None else ""
        super().__init__(f"{where}{field}: {message}")


def format_duration(delta: timedelta) -> str:
    """Shortest OpenSLO duration shorthand in days, hours or minutes (`7d`, `24h` is written `1d`)."""
    for suffix in ("d", "h", "m"):
        unit = _DURATION_UNITS[suffix]
        if delta >= unit and not delta % unit:
            return f"{delta // unit}{suffix}"
    raise ValueError(f"duration must be a positive whole number of minutes, got {delta!r}")


def parse_duration(value: Any, path: str) -> timedelta:
    if not isinstance(value, str):
        raise OpenSloError(path, f"must be a duration shorthand such as 7d or 24h, got {value!r}")
    match = _DURATION_RE.match(value)
    if not match:
        raise OpenSloError(path, f"must be a duration shorthand such as 7d or 24h, got {value!r}")
    amount, unit = match.groups()
    if unit not in _DURATION_UNITS:
        raise OpenSloError(path, f"calendar units (M, Q, Y) have no fixed length and are not supported, got {value!r}")
    try:
        return int(amount) * _DURATION_UNITS[unit]
    except OverflowError:  # beyond timedelta's range (about 2.7 million years)
        raise OpenSloError(path, f"is far too long, got {value!r}") from None
