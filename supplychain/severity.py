"""An OSV record's severity: CVSS v3.x / v4 vectors scored by the `cvss` library, else the record's own
`database_specific` severity, else "unknown". Pure (no Django)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError

# Lowest to highest; the gate compares ranks. "unknown" ranks below every rating: it never blocks by itself.
RATINGS = ("unknown", "none", "low", "medium", "high", "critical")
RANK = {name: index for index, name in enumerate(RATINGS)}
# database_specific words (GitHub: LOW / MODERATE / HIGH / CRITICAL) -> CVSS ratings
WORDS = {"low": "low", "moderate": "medium", "medium": "medium", "high": "high", "critical": "critical",
         "important": "high", "none": "none"}


@dataclass(frozen=True)
class Severity:
    rating: str
    score: float | None = None
    vector: str = ""
    source: str = "unknown"  # cvss_v3, cvss_v4, database_specific, unknown


def _from_vector(kind: str, vector: str) -> Severity | None:
    try:
        if kind == "CVSS_V4":
            v4 = CVSS4(vector)
            return Severity(str(v4.severity).lower(), float(v4.base_score), vector, "cvss_v4")
        if kind == "CVSS_V3":
            v3 = CVSS3(vector)
            return Severity(str(v3.severities()[0]).lower(), float(v3.scores()[0]), vector, "cvss_v3")
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


def of_record(record: Mapping[str, Any]) -> Severity:
    """The highest-precedence severity a record gives: CVSS v4, then v3.x, then database_specific."""
    entries = list(record.get("severity") or [])
    for affected in record.get("affected") or []:
        entries += list(affected.get("severity") or [])
    scored = {}
    for entry in entries:
        kind = str(entry.get("type") or "")
        if kind in ("CVSS_V4", "CVSS_V3") and kind not in scored:
            result = _from_vector(kind, str(entry.get("score") or ""))
            if result is not None:
                scored[kind] = result
    for kind in ("CVSS_V4", "CVSS_V3"):
        if kind in scored:
            return scored[kind]
    for holder in [record, *(record.get("affected") or [])]:
        specific = holder.get("database_specific") or {}
        word = str(specific.get("severity") or "").strip().lower() if isinstance(specific, Mapping) else ""
        if word in WORDS:
            return Severity(WORDS[word], None, "", "database_specific")
    return Severity("unknown")


def at_least(rating: str, threshold: str) -> bool:
    return rating != "unknown" and RANK.get(rating, 0) >= RANK.get(threshold, RANK["high"])
