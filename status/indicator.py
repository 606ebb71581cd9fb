"""The page's overall indicator, computed as Atlassian Statuspage computes its top-level status (no Django).

Statuspage's public `status.json` answers `{"indicator": none|minor|major|critical|maintenance, "description"}`;
the description follows from the component statuses (support.atlassian.com: "Top-level status and incident
impact calculations"), and an unresolved incident raises the indicator to at least its impact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

OPERATIONAL = "operational"
DEGRADED = "degraded_performance"
PARTIAL = "partial_outage"
MAJOR = "major_outage"
MAINTENANCE = "under_maintenance"
COMPONENT_STATUSES = (OPERATIONAL, DEGRADED, PARTIAL, MAJOR, MAINTENANCE)
INDICATOR_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}
ALL_OK = "All Systems Operational"
IMPACT_DESCRIPTION = {"minor": "Minor Service Outage", "major": "Partial System Outage",
                      "critical": "Major System Outage"}


@dataclass(frozen=True)
class PageStatus:
    indicator: str
    description: str


def from_components(statuses: Iterable[str]) -> PageStatus:
    """The indicator and description the component statuses alone give."""
    values = list(statuses)
    unknown = set(values) - set(COMPONENT_STATUSES)
    if unknown:
        raise ValueError(f"unknown component status {sorted(unknown)[0]!r}")

    def every(status: str) -> bool:
        return all(v == status for v in values)

    if MAJOR in values:
        return PageStatus("critical", "Major System Outage") if every(MAJOR) else \
            PageStatus("major", "Partial System Outage")
    if PARTIAL in values:
        return PageStatus("major", "Partial System Outage") if every(PARTIAL) else \
            PageStatus("minor", "Minor Service Outage")
    if DEGRADED in values:
        return PageStatus("minor", "Degraded System Service") if every(DEGRADED) else \
            PageStatus("minor", "Partially Degraded Service")
    if MAINTENANCE in values:
        return PageStatus("maintenance", "Service Under Maintenance")
    return PageStatus("none", ALL_OK)


def page_status(component_statuses: Iterable[str], unresolved_impacts: Iterable[str] = ()) -> PageStatus:
    """Components first; an unresolved incident whose impact ranks higher raises the indicator to it."""
    status = from_components(component_statuses)
    worst = max((i for i in unresolved_impacts if i in IMPACT_DESCRIPTION), key=INDICATOR_RANK.__getitem__,
                default=None)
    if worst is not None and INDICATOR_RANK[worst] > INDICATOR_RANK[status.indicator]:
        return PageStatus(worst, IMPACT_DESCRIPTION[worst])
    return status
