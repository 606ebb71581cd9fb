from functools import cmp_to_key
from itertools import pairwise

import pytest
from govctl.releases import semver
from govctl.releases.semver import InvalidVersion, Version
from hypothesis import given
from hypothesis import strategies as st

# The precedence example from SemVer 2.0.0 item 11, lowest first.
SPEC_CHAIN = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
]


@pytest.mark.parametrize("lower, higher", list(pairwise(SPEC_CHAIN)))
def test_spec_precedence_example__each_version_below_the_next(lower, higher):
    assert semver.compare(lower, higher) == -1
    assert semver.compare(higher, lower) == 1
    assert semver.parse(lower) < semver.parse(higher)


def test_spec_precedence_example__shuffled_list_sorts_back():
    shuffled = [SPEC_CHAIN[i] for i in (5, 0, 7, 3, 1, 6, 2, 4)]

    assert [str(v) for v in semver.sort_versions([semver.parse(s) for s in shuffled])] == SPEC_CHAIN


@pytest.mark.parametrize(
    "lower, higher",
    [
        ("1.0.0", "2.0.0"),
        ("2.0.0", "2.1.0"),
        ("2.1.0", "2.1.1"),
        ("1.9.0", "1.10.0"),
        ("1.0.0-alpha.2", "1.0.0-alpha.10"),
        ("1.0.0-1", "1.0.0-a"),
        ("1.0.0-A", "1.0.0-a"),
        ("1.0.0-rc.1", "1.0.0-rc.1.0"),
        ("99999999999999999999.0.0", "100000000000000000000.0.0"),
    ],
)
def test_precedence_rules__lower_compares_below_higher(lower, higher):
    assert semver.compare(lower, higher) == -1


def test_build_metadata__ignored_in_precedence_but_kept_in_text():
    a, b = semver.parse("1.0.0+build.1"), semver.parse("1.0.0+build.2")

    assert semver.compare(a, b) == 0
    assert not a < b and not b < a
    assert a != b and str(a) == "1.0.0+build.1"


@pytest.mark.parametrize(
    "text",
    [
        "0.0.0",
        "1.0.0-alpha",
        "1.0.0-0.3.7",
        "1.0.0-x.7.z.92",
        "1.0.0-x-y-z.--",
        "1.0.0-alpha+001",
        "1.0.0+20130313144700",
        "1.0.0-beta+exp.sha.5114f85",
        "1.0.0+21AF26D3----117B344092BD",
        "1.0.0-0a.00b",
    ],
)
def test_valid_version__parses_and_prints_unchanged(text):
    assert str(semver.parse(text)) == text


@pytest.mark.parametrize(
    "text, reason",
    [
        ("01.0.0", "major version '01' has a leading zero"),
        ("1.01.0", "minor version '01' has a leading zero"),
        ("1.0.01", "patch version '01' has a leading zero"),
        ("1.0.0-01", "numeric pre-release identifier '01' has a leading zero"),
        ("1.0", "expected MAJOR.MINOR.PATCH"),
        ("1.0.0.0", "expected MAJOR.MINOR.PATCH"),
        ("v1.0.0", "'v' prefix"),
        ("1.0.0-", "pre-release after '-' is empty"),
        ("1.0.0+", "build metadata after '+' is empty"),
        ("1.0.0-alpha..1", "pre-release identifier 2 is empty"),
        ("1.0.0-alpha_1", "may contain only ASCII letters, digits and '-'"),
        ("1.0.0+b..c", "build metadata identifier 2 is empty"),
        ("1.x.0", "minor version 'x' must be a non-negative integer"),
        ("-1.0.0", "before any '-' or '+', found ''"),
        (" 1.0.0", "whitespace"),
        ("1.0.0\n", "whitespace"),
        ("1.٢.0", "must be a non-negative integer"),
        ("", "empty"),
    ],
)
def test_invalid_version__rejected_with_reason(text, reason):
    with pytest.raises(InvalidVersion) as caught:
        semver.parse(text)

    assert reason in str(caught.value)
    assert not semver.is_valid(text)


_numeric = st.integers(min_value=0, max_value=30)
_alnum = st.text(alphabet="abcxyzAZ-019", min_size=1, max_size=4).filter(lambda s: not s.isdigit())
_identifier = st.one_of(_numeric, _alnum)
versions = st.builds(
    Version,
    _numeric,
    _numeric,
    _numeric,
    st.lists(_identifier, max_size=3).map(tuple),
    st.lists(st.sampled_from(["b1", "007", "sha-5"]), max_size=2).map(tuple),
)


@given(versions)
def test_any_version__round_trips_through_text(version):
    assert semver.parse(str(version)) == version


@given(versions, versions)
def test_compare__antisymmetric_and_matches_operators(a, b):
    assert semver.compare(a, b) == -semver.compare(b, a)
    assert (semver.compare(a, b) < 0) == (a < b)
    assert (semver.compare(a, b) == 0) == (a.core == b.core and a.prerelease == b.prerelease)


@given(versions, versions, versions)
def test_compare__transitive(a, b, c):
    if semver.compare(a, b) <= 0 and semver.compare(b, c) <= 0:
        assert semver.compare(a, c) <= 0


@given(st.lists(versions, max_size=12))
def test_sorting__orders_every_pair_consistently_with_compare(items):
    ordered = sorted(items, key=cmp_to_key(semver.compare))

    assert all(semver.compare(x, y) <= 0 for x, y in pairwise(ordered))
    assert all(semver.compare(ordered[i], ordered[j]) <= 0 for i in range(len(ordered)) for j in range(i, len(ordered)))
    assert [v.precedence_key() for v in ordered] == sorted(v.precedence_key() for v in items)
