"""Severity: CVSS v4, then v3.x (scored by the `cvss` library), then database_specific, else unknown."""

from supplychain import severity


def test_cvss_v4_vector__wins_over_v3():
    rated = severity.of_record({"severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"},
        {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]})
    assert (rated.rating, rated.score, rated.source) == ("critical", 9.3, "cvss_v4")


def test_cvss_v30_and_v31__are_scored():
    for prefix in ("CVSS:3.0", "CVSS:3.1"):
        rated = severity.of_record({"severity": [{"type": "CVSS_V3", "score": f"{prefix}/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N"}]})
        assert (rated.rating, rated.score) == ("medium", 5.4)


def test_broken_vector__falls_back_to_the_database_severity_then_unknown():
    record = {"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}], "database_specific": {"severity": "HIGH"}}
    assert (severity.of_record(record).rating, severity.of_record(record).source) == ("high", "database_specific")
    assert severity.of_record({"id": "X"}).rating == "unknown"


def test_unknown__never_reaches_a_threshold():
    assert not severity.at_least("unknown", "none")
    assert severity.at_least("critical", "high") and not severity.at_least("medium", "high")
