"""Matching agrees with the PyPA advisory database where a record has both a `versions` list and `ranges`.

Each affected entry is matched once as published (lists and ranges) and once with the lists removed (ranges
only), for every listed version and every range boundary: introduced -> affected, fixed -> not affected,
last_affected -> affected, the release just past last_affected -> not affected. The figures are printed
(`pytest -s`) for the report.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import InvalidVersion, Version

from supplychain import matching
from tests.conformance import conformance_dir

DATA = conformance_dir() / "osv-pypa"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Records whose own lists and ranges disagree (the data, not the matcher): checked by the ranges-only pass to
# give exactly these answers, so a change in matching that "fixes" them shows up too.
DATA_DISAGREEMENTS = {
    # lists 3.2a1 … 4.2rc1, pre-releases of versions the ranges introduce later (introduced: "3.2", "4.2")
    "PYSEC-2023-61",
    # lists 23.9.0 and 23.9.0.post1, the version its range calls fixed and one after it
    "PYSEC-2023-177",
}


def _records() -> list[tuple[str, dict[str, Any]]]:
    return [(path.stem, yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER))  # noqa: S506 - (C)SafeLoader
            for path in sorted(DATA.glob("*/*.yaml"))]


def _just_past(version: str) -> str:
    release = Version(version).release
    return ".".join(str(n) for n in (*release[:-1], release[-1] + 1))


def _pep440(version: str) -> bool:
    try:
        Version(version)
    except InvalidVersion:
        return False
    return True


def _cases(affected: dict[str, Any]) -> list[tuple[str, bool, str]]:
    cases = [(v, True, "listed") for v in affected["versions"]]
    for rng in affected["ranges"]:
        introduced = {e["introduced"] for e in rng["events"] if "introduced" in e}
        for event in rng["events"]:
            for kind, value in event.items():
                if kind == "introduced" and value != "0":
                    cases.append((value, True, kind))
                elif kind == "fixed" and value not in introduced:  # a fix that starts no new span
                    cases.append((value, False, kind))
                elif kind == "last_affected":
                    cases.append((value, True, kind))
                    cases.append((_just_past(value), False, "past last_affected"))
    return cases


@pytest.fixture(scope="module")
def outcome() -> dict[str, Any]:
    counts: Counter[str] = Counter()
    wrong: list[tuple[str, str, str, str, bool]] = []
    unplaceable: list[tuple[str, str]] = []
    for record_id, record in _records():
        entries = [a for a in record.get("affected") or [] if a.get("versions") and a.get("ranges")]
        if entries:
            counts["records"] += 1
        for affected in entries:
            ecosystem = affected["package"]["ecosystem"]
            ranges_only = {k: v for k, v in affected.items() if k != "versions"}
            for version, expected, why in _cases(affected):
                counts[why] += 1
                for mode, entry in (("with lists", affected), ("ranges only", ranges_only)):
                    counts["matches"] += 1
                    got = matching.affects(entry, ecosystem, version)
                    if got == expected:
                        continue
                    if mode == "ranges only" and why == "listed" and not _pep440(version):
                        unplaceable.append((record_id, version))  # no PEP 440 ordering can place "0.7.10p1"
                    else:
                        wrong.append((record_id, mode, why, version, got))
    return {"counts": counts, "wrong": wrong, "unplaceable": unplaceable}


def test_vendored_records__are_the_ones_with_both_lists_and_ranges(outcome):
    assert outcome["counts"]["records"] == len(list(DATA.glob("*/*.yaml"))) >= 700


def test_every_listed_version_and_boundary__matches_with_and_without_lists(outcome):
    counts, wrong = outcome["counts"], outcome["wrong"]
    print(f"\nOSV conformance: {counts['records']} records, {counts['matches']} matches "
          f"({counts['listed']} listed versions, {counts['introduced']} introduced, {counts['fixed']} fixed, "
          f"{counts['last_affected']} last_affected, {counts['past last_affected']} just past last_affected, "
          f"each with and without lists); {len(outcome['unplaceable'])} listed versions outside PEP 440 "
          f"(matched by the list only); disagreements in the data: "
          f"{sorted({w[0] for w in wrong})}")
    assert {w[0] for w in wrong} == DATA_DISAGREEMENTS
    # The with-lists pass never disagrees on a listed version: a listed version is affected, whatever the ranges.
    assert not [w for w in wrong if w[1] == "with lists" and w[2] == "listed"]


def test_versions_outside_pep440__are_affected_through_the_list_only(outcome):
    assert outcome["unplaceable"], "the vendored data has legacy versions such as 0.7.10p1"
    for record_id, version in outcome["unplaceable"]:
        path = next(DATA.glob(f"*/{record_id}.yaml"))
        record = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=LOADER)  # noqa: S506 - (C)SafeLoader
        listed = [a for a in record["affected"] if version in (a.get("versions") or [])]
        assert matching.affects(listed[0], "PyPI", version)


def test_pep503_names__identify_the_same_package():
    assert matching.identify("pkg:pypi/Flask_RESTX@1.0").package == matching.Package("PyPI", "flask-restx")
    assert matching.identify("pkg:pypi/flask.restx@1.0").package == matching.Package("PyPI", "flask-restx")


@pytest.mark.parametrize(("version", "expected"), [
    ("1.0.0", False), ("1.2.0", True), ("1.4.9", True), ("1.5.0", False), ("2.0.0-rc.1", False),
    ("2.0.0", True), ("2.1.0", True), ("2.1.1", False), ("3.0.0", False),
])
def test_semver_ranges__use_semver_precedence(version, expected):
    entry = {"ranges": [{"type": "SEMVER", "events": [
        {"introduced": "1.2.0"}, {"fixed": "1.5.0"}, {"introduced": "2.0.0"}, {"last_affected": "2.1.0"}]}]}
    assert matching.affects(entry, "npm", version) is expected


def test_limit__caps_a_range():
    entry = {"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"limit": "2.0"}]}]}
    assert matching.affects(entry, "PyPI", "1.9")
    assert not matching.affects(entry, "PyPI", "2.0")


def test_git_ranges__never_match_a_version_by_themselves():
    entry = {"ranges": [{"type": "GIT", "repo": "https://example.invalid/r", "events": [{"introduced": "0"}]}]}
    assert not matching.affects(entry, "PyPI", "1.0")
    assert matching.affects(dict(entry, versions=["1.0"]), "PyPI", "1.0")


def test_go_versions__compare_without_their_v_prefix():
    entry = {"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.4.2"}]}]}
    component = matching.identify("pkg:golang/github.com/example/mod@v1.4.1")
    assert component.package == matching.Package("Go", "github.com/example/mod")
    assert matching.affects(entry, "Go", component.version)
    assert not matching.affects(entry, "Go", "v1.4.2")
