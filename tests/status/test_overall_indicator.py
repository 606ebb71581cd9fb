"""The page's overall indicator, as Statuspage computes its top-level status: one pure function, by table."""

import pytest

from status.indicator import page_status

OP, DEG, PART, MAJ, MAINT = ("operational", "degraded_performance", "partial_outage", "major_outage",
                             "under_maintenance")


@pytest.mark.parametrize(("components", "incidents", "indicator", "description"), [
    ([], [], "none", "All Systems Operational"),
    ([OP, OP], [], "none", "All Systems Operational"),
    ([OP, MAINT], [], "maintenance", "Service Under Maintenance"),
    ([MAINT, MAINT], [], "maintenance", "Service Under Maintenance"),
    ([OP, DEG], [], "minor", "Partially Degraded Service"),
    ([DEG, DEG], [], "minor", "Degraded System Service"),
    ([DEG, MAINT], [], "minor", "Partially Degraded Service"),
    ([OP, PART], [], "minor", "Minor Service Outage"),
    ([PART, PART], [], "major", "Partial System Outage"),
    ([OP, MAJ], [], "major", "Partial System Outage"),
    ([PART, MAJ], [], "major", "Partial System Outage"),
    ([MAJ], [], "critical", "Major System Outage"),
    ([MAJ, MAJ], [], "critical", "Major System Outage"),
    ([OP], ["minor"], "minor", "Minor Service Outage"),
    ([OP], ["critical", "minor"], "critical", "Major System Outage"),
    ([OP], ["none"], "none", "All Systems Operational"),
    ([MAJ], ["minor"], "critical", "Major System Outage"),
    ([MAINT], ["major"], "major", "Partial System Outage"),
])
def test_component_statuses_and_open_incidents__give_statuspages_indicator(components, incidents, indicator,
                                                                           description):
    result = page_status(components, incidents)

    assert (result.indicator, result.description) == (indicator, description)


def test_unknown_component_status__refused():
    with pytest.raises(ValueError, match="unknown component status 'down'"):
        page_status(["down"])
