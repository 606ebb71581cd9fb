"""Chaos Toolkit tolerance semantics: does a probe's value satisfy a steady-state tolerance?

One home for the rule, with no Django import, so the run engine, the import validator and the tests share it.
It follows chaostoolkit-lib (``chaoslib.hypothesis.within_tolerance``) case by case, including the awkward ones
(tests/chaos/test_tolerance_semantics.py checks agreement against chaoslib itself):

- ``bool`` tolerance: ``value == tolerance`` (so ``1`` satisfies ``true``: Python's bool is an int);
- ``str`` tolerance: ``value == tolerance``;
- ``int`` tolerance: equality, or, when the value is a dict with a ``status`` member (an HTTP probe's result),
  equality with that status;
- ``list`` tolerance: an HTTP probe's ``status`` in the list; otherwise a two-item list is an inclusive
  ``[low, high]`` range and any other length a set of allowed values;
- ``{"type": "regex", "pattern", "target"?}``: ``re.search`` on the value (or on ``value[target]``);
- ``{"type": "jsonpath", "path", "expect"?, "count"?, "target"?}``: the JSON path matches (a string value is
  parsed as JSON first); with ``expect`` the matched values equal ``[expect]`` (or ``expect`` when a list);
  with ``count`` the number of matches equals it;
- ``{"type": "range", "range": [low, high], "target"?}``: the value, read as a decimal number, is in the
  inclusive range (a value that is not a number is outside it);
- ``{"type": "probe", …}``: another activity that receives the value; the CALLER runs it, through the
  ``probe_runner`` hook (chaoslib counts a failed tolerance probe as "not within").

A float tolerance is not a Chaos Toolkit tolerance (chaoslib rejects it on validation and its dispatcher returns
nothing): :func:`within_tolerance` answers ``False`` and :func:`tolerance_problem` names it.

Where chaoslib itself raises (a range compared with a value that has no order, a regex applied to a number, a
``target`` on a value that is not a dict), :func:`within_tolerance` raises :class:`ToleranceError`: Chaos Toolkit
then ends the run as ``failed``, not ``deviated``, and the portal's engine does the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from numbers import Number
from string import Template
from typing import Any

from jsonpath2.path import Path as JSONPath

ProbeRunner = Callable[[dict[str, Any], Any], bool]
"""The hook for ``{"type": "probe"}`` tolerances: f(tolerance_activity, value) -> bool."""

TOLERANCE_TYPES = ("probe", "regex", "jsonpath", "range")


class ToleranceError(ValueError):
    """The tolerance cannot be applied to this value (Chaos Toolkit fails the run rather than deviating)."""


def _substitute(text: Any, configuration: Mapping[str, Any] | None) -> Any:
    """``${name}`` substitution from the experiment's configuration, as chaoslib does for patterns and paths."""
    if not configuration or not isinstance(text, str):
        return text
    return Template(text).safe_substitute({k: v for k, v in configuration.items() if not isinstance(v, dict)})


def _target(value: Any, target: Any) -> Any:
    if not target:
        return value
    if not isinstance(value, Mapping):
        raise ToleranceError(f"tolerance target {target!r} needs a JSON object value, got {type(value).__name__}")
    return value.get(target, value)


def within_tolerance(tolerance: Any, value: Any, *, configuration: Mapping[str, Any] | None = None,
                     probe_runner: ProbeRunner | None = None) -> bool:
    """Whether ``value`` (a probe's output) satisfies ``tolerance`` under Chaos Toolkit's semantics."""
    if isinstance(tolerance, bool):
        return bool(value == tolerance)
    if isinstance(tolerance, str):
        return bool(value == tolerance)
    if isinstance(tolerance, int):
        if isinstance(value, Mapping) and "status" in value:
            return bool(value["status"] == tolerance)
        return bool(value == tolerance)
    if isinstance(tolerance, list):
        return _within_list(tolerance, value)
    if isinstance(tolerance, dict):
        return _within_typed(tolerance, value, configuration=configuration, probe_runner=probe_runner)
    return False  # a float or null tolerance: chaoslib's dispatcher has no branch for it (never "within")


def _within_list(tolerance: list[Any], value: Any) -> bool:
    if isinstance(value, Mapping) and "status" in value:
        try:
            return value["status"] in tolerance
        except TypeError as exc:
            raise ToleranceError(str(exc)) from exc
    try:
        if len(tolerance) == 2:
            return bool(tolerance[0] <= value <= tolerance[1])
        return value in tolerance
    except TypeError as exc:
        raise ToleranceError(f"value {value!r} cannot be compared with the range {tolerance!r}") from exc


def _within_typed(tolerance: dict[str, Any], value: Any, *, configuration: Mapping[str, Any] | None,
                  probe_runner: ProbeRunner | None) -> bool:
    kind = tolerance.get("type")
    if kind == "probe":
        if probe_runner is None:
            raise ToleranceError("a probe tolerance needs a probe_runner (the caller runs the activity)")
        return bool(probe_runner(tolerance, value))
    if kind == "regex":
        pattern = _substitute(tolerance.get("pattern"), configuration)
        subject = _target(value, tolerance.get("target"))
        if not isinstance(subject, str | bytes) or not isinstance(pattern, str):
            raise ToleranceError(f"a regex tolerance needs a string value, got {type(subject).__name__}")
        if isinstance(subject, bytes):
            raise ToleranceError("a regex tolerance cannot search bytes with a str pattern")
        return re.search(pattern, subject) is not None
    if kind == "jsonpath":
        return _within_jsonpath(tolerance, value, configuration=configuration)
    if kind == "range":
        subject = _target(value, tolerance.get("target"))
        try:
            number = Decimal(subject)
        except InvalidOperation:
            return False
        except (TypeError, ValueError) as exc:
            raise ToleranceError(f"a range tolerance needs a number, got {type(subject).__name__}") from exc
        low, high = tolerance["range"]
        return Decimal(low) <= number <= Decimal(high)
    return False  # an unknown type: chaoslib answers None (not within); validation names it first


def _within_jsonpath(tolerance: dict[str, Any], value: Any, *, configuration: Mapping[str, Any] | None) -> bool:
    path = _substitute(tolerance.get("path"), configuration)
    try:
        parsed = JSONPath.parse_str(path)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ToleranceError(f"invalid JSON path {path!r}") from exc
    subject = _target(value, tolerance.get("target"))
    if isinstance(subject, bytes):
        subject = subject.decode("utf-8")
    if isinstance(subject, str):
        try:
            subject = json.loads(subject)
        except json.JSONDecodeError:
            pass
    values = [match.current_value for match in parsed.match(subject)]
    result = len(values) > 0
    count = tolerance.get("count")
    if count is not None:
        result = len(values) == count
    if "expect" in tolerance:
        expect = _substitute(tolerance["expect"], configuration)
        result = values == (expect if isinstance(expect, list) else [expect])
    return result


def tolerance_problem(tolerance: Any) -> str | None:
    """Why ``tolerance`` is not a valid Chaos Toolkit tolerance (None when it is); mirrors chaoslib's validation."""
    if isinstance(tolerance, bool | int | str | list):
        return None
    if not isinstance(tolerance, dict):
        return ("must be a boolean, an integer, a string, a list or an object "
                f"(got {type(tolerance).__name__})")
    kind = tolerance.get("type")
    if kind == "probe":
        return None if isinstance(tolerance.get("provider"), dict) else "a probe tolerance needs a provider"
    if kind == "regex":
        if "pattern" not in tolerance:
            return "a regex tolerance needs a `pattern`"
        try:
            re.compile(tolerance["pattern"])
        except (TypeError, re.error) as exc:
            return f"the regex pattern is invalid: {exc}"
        return None
    if kind == "jsonpath":
        path = tolerance.get("path")
        if not isinstance(path, str) or not path.strip():
            return "a jsonpath tolerance needs a non-empty `path`"
        try:
            JSONPath.parse_str(path.strip())
        except (ValueError, TypeError, AttributeError):
            return f"the JSON path {path!r} is invalid"
        return None
    if kind == "range":
        bounds = tolerance.get("range")
        if not isinstance(bounds, list) or len(bounds) != 2:
            return "a range tolerance needs `range`: [low, high]"
        if not all(isinstance(b, Number) for b in bounds):
            return "the range boundaries must be numbers"
        return None
    return f"tolerance type {kind!r} is unsupported (one of {', '.join(TOLERANCE_TYPES)})"
