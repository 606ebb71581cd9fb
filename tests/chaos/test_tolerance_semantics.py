"""chaos.tolerance agrees with chaostoolkit-lib's own tolerance evaluation, case by case (no database needed)."""

from __future__ import annotations

import copy

import pytest
from chaoslib.exceptions import InvalidActivity
from chaoslib.hypothesis import ensure_hypothesis_tolerance_is_valid
from chaoslib.hypothesis import within_tolerance as chaoslib_within

from chaos.tolerance import ToleranceError, tolerance_problem, within_tolerance

HTTP_OK = {"status": 200, "headers": {"Content-Type": "application/json"}, "body": {"ok": True, "flags": 3}}
HTTP_TEXT = {"status": 503, "headers": {}, "body": "Service Unavailable: maintenance"}
HTTP_JSON_TEXT = {"status": 200, "headers": {}, "body": '{"status": "up", "checks": [{"name": "db", "ok": true}]}'}

CASES = [
    # booleans, and Python's bool-is-an-int corner
    (True, True), (True, False), (False, False), (True, 1), (False, 0), (True, "true"), (True, None),
    (True, HTTP_OK),
    # strings
    ("ok", "ok"), ("ok", "OK"), ("ok", None), ("200", 200),
    # integers, and HTTP probe results carrying a status
    (200, 200), (200, 201), (1, True), (0, False), (200, 200.0), (200, "200"), (200, HTTP_OK), (503, HTTP_OK),
    (503, HTTP_TEXT), (200, {"body": "no status member"}), (0, None),
    # lists: [low, high] ranges, sets of values, HTTP statuses
    ([200, 299], 250), ([200, 299], 300), ([200, 299], 200), ([200, 299], 299), ([0.5, 1.0], 0.99),
    ([0.5, 1.0], 0.4), ([200, 201, 204], 204), ([200, 201, 204], 202), ([200, 201, 204], HTTP_OK),
    ([500, 503], HTTP_TEXT), ([200, 299], HTTP_OK), ([200, 299], HTTP_TEXT), (["a", "c"], "b"), (["up"], "up"),
    ([True, False], 1), ([], 1), ([200, 299], "250"), ([200, 299], None), ([200, 299], {"no": "status"}),
    # regex, with and without target
    ({"type": "regex", "pattern": "^ok"}, "ok then"), ({"type": "regex", "pattern": "^ok"}, "not ok"),
    ({"type": "regex", "pattern": "maint", "target": "body"}, HTTP_TEXT),
    ({"type": "regex", "pattern": "^Service", "target": "body"}, HTTP_TEXT),
    ({"type": "regex", "pattern": "x", "target": "missing"}, {"missing_not": 1}),
    ({"type": "regex", "pattern": "^2", "target": "status"}, HTTP_OK),
    ({"type": "regex", "pattern": "1"}, 1), ({"type": "regex", "pattern": "a", "target": "body"}, "a string"),
    # jsonpath
    ({"type": "jsonpath", "path": "$.ok"}, {"ok": True}),
    ({"type": "jsonpath", "path": "$.ok", "expect": True}, {"ok": True}),
    ({"type": "jsonpath", "path": "$.ok", "expect": False}, {"ok": True}),
    ({"type": "jsonpath", "path": "$.missing"}, {"ok": True}),
    ({"type": "jsonpath", "path": "$.flags", "expect": 3, "target": "body"}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.status", "expect": "up", "target": "body"}, HTTP_JSON_TEXT),
    ({"type": "jsonpath", "path": "$.checks[*].ok", "expect": [True], "target": "body"}, HTTP_JSON_TEXT),
    ({"type": "jsonpath", "path": "$.checks[*].name", "count": 1, "target": "body"}, HTTP_JSON_TEXT),
    ({"type": "jsonpath", "path": "$.checks[*].name", "count": 2, "target": "body"}, HTTP_JSON_TEXT),
    ({"type": "jsonpath", "path": "$.items[*]", "expect": [1, 2]}, {"items": [1, 2]}),
    ({"type": "jsonpath", "path": "$.items[*]", "expect": [2, 1]}, {"items": [1, 2]}),
    ({"type": "jsonpath", "path": "$.a"}, '{"a": 1}'), ({"type": "jsonpath", "path": "$.a"}, b'{"a": 1}'),
    ({"type": "jsonpath", "path": "$.a"}, "not json"),
    ({"type": "jsonpath", "path": "$.a", "target": "body"}, "not a dict"),
    ({"type": "jsonpath", "path": "$[?(@.v > 2)]", "count": 2}, [{"v": 1}, {"v": 3}, {"v": 5}]),
    # range
    ({"type": "range", "range": [0, 10]}, 5), ({"type": "range", "range": [0, 10]}, 10.5),
    ({"type": "range", "range": [0.1, 0.2]}, 0.15), ({"type": "range", "range": [0, 10]}, "7"),
    ({"type": "range", "range": [0, 10]}, "seven"), ({"type": "range", "range": [0, 1]}, True),
    ({"type": "range", "range": [200, 299], "target": "status"}, HTTP_OK),
    ({"type": "range", "range": [200, 299], "target": "status"}, HTTP_TEXT),
    ({"type": "range", "range": [0, 10]}, None), ({"type": "range", "range": [0, 10]}, {"status": 5}),
    ({"type": "range", "range": [0, 10], "target": "x"}, 5),
    # not Chaos Toolkit tolerances
    (1.5, 1.5), (None, None), ({"type": "unknown"}, 1),
]


def _chaoslib(tolerance, value):
    try:
        return bool(chaoslib_within(copy.deepcopy(tolerance), copy.deepcopy(value))), None
    except Exception as exc:  # chaoslib raises assorted built-in errors where a comparison is impossible
        return None, exc


@pytest.mark.parametrize(("tolerance", "value"), CASES, ids=[f"{i}:{c[0]!r}~{c[1]!r}"[:80] for i, c in enumerate(CASES)])
def test_tolerance_case__agrees_with_chaoslib(tolerance, value):
    expected, raised = _chaoslib(tolerance, value)
    if raised is not None:
        with pytest.raises(ToleranceError):
            within_tolerance(tolerance, value)
    else:
        assert within_tolerance(tolerance, value) is expected


def test_case_table__covers_both_verdicts_and_the_failures():
    outcomes = [_chaoslib(t, v) for t, v in CASES]
    assert sum(1 for ok, _ in outcomes if ok is True) >= 20
    assert sum(1 for ok, _ in outcomes if ok is False) >= 20
    assert sum(1 for ok, _ in outcomes if ok is None) >= 4


def test_configuration_placeholders__substituted_in_patterns_and_paths():
    configuration = {"expected_word": "maint", "field": "status"}
    assert within_tolerance({"type": "regex", "pattern": "${expected_word}", "target": "body"}, HTTP_TEXT,
                            configuration=configuration)
    assert within_tolerance({"type": "jsonpath", "path": "$.${field}", "expect": "up", "target": "body"},
                            HTTP_JSON_TEXT, configuration=configuration)


def test_probe_tolerance__evaluated_by_the_callers_hook():
    tolerance = {"type": "probe", "name": "p", "provider": {"type": "python", "module": "m", "func": "f",
                                                              "arguments": {}}}
    seen = []

    def runner(activity, value):
        seen.append((activity["name"], value))
        return value > 3

    assert within_tolerance(tolerance, 5, probe_runner=runner) is True
    assert within_tolerance(tolerance, 1, probe_runner=runner) is False
    assert seen == [("p", 5), ("p", 1)]
    with pytest.raises(ToleranceError):
        within_tolerance(tolerance, 5)


VALIDATION_CASES = [
    True, 3, "ok", [1, 2], [1, 2, 3], 1.5, None,
    {"type": "regex", "pattern": "^a"}, {"type": "regex"}, {"type": "regex", "pattern": "("},
    {"type": "jsonpath", "path": "$.a"}, {"type": "jsonpath"}, {"type": "jsonpath", "path": "  "},
    {"type": "range", "range": [1, 2]}, {"type": "range", "range": [1]}, {"type": "range", "range": ["a", 2]},
    {"type": "range"}, {"type": "other"},
]


@pytest.mark.parametrize("tolerance", VALIDATION_CASES, ids=[repr(t)[:60] for t in VALIDATION_CASES])
def test_tolerance_validation__agrees_with_chaoslib(tolerance):
    try:
        ensure_hypothesis_tolerance_is_valid(copy.deepcopy(tolerance))
        chaoslib_valid = True
    except InvalidActivity:
        chaoslib_valid = False
    assert (tolerance_problem(tolerance) is None) is chaoslib_valid
