"""Unleash strategy constraints, compiled once per snapshot into plain predicates.

A constraint reads one context field and compares it with the constraint's value(s). Semantics
follow the Unleash client specification: a missing context value fails every operator except
NOT_IN; ``inverted`` negates the outcome of a known operator; an unknown operator is always false
(even when inverted), so a snapshot written by a newer portal never widens exposure on an old SDK.
Values that cannot be parsed (a number that is not one, a date, a semver with a leading "v", a
regex RE2 rejects) make the constraint false before inversion, as in the other SDKs.

Beyond the 2022 operator set, REGEX (pattern in ``value``, or any of ``values``; unanchored search;
``caseInsensitive`` honoured) and IN_CIDR (context value is an IP inside any network in ``values``)
are supported.
"""

from __future__ import annotations

import ipaddress
import json
import operator as op
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "Predicate",
    "compile_all",
    "compile_constraint",
    "context_value",
    "fallback_identifier",
    "parse_semver",
    "regex_compile",
]

Predicate = Callable[[Mapping[str, Any]], bool]

try:  # RE2 guarantees linear-time matching, which matters for patterns typed into an admin form
    import re2 as _re2
except ImportError:
    _re2 = None

# Without RE2, Python's backtracking engine is used. It accepts constructs RE2 refuses
# (backreferences, look-around); those are rejected here too so that a pattern behaves the same
# whichever engine is installed. Python `re` can still backtrack exponentially on hostile patterns.
_RE2_UNSUPPORTED = re.compile(r"\\[1-9]|\(\?<?[=!]|\(\?P=")


def regex_compile(pattern: str, case_insensitive: bool = False) -> Callable[[str], bool] | None:
    """A search function for ``pattern`` with RE2 semantics, or None when the pattern is invalid."""
    if case_insensitive:
        pattern = "(?i)" + pattern
    try:
        if _re2 is not None:
            compiled = _re2.compile(pattern)
        else:
            if _RE2_UNSUPPORTED.search(pattern):
                return None
            compiled = re.compile(pattern)
    except Exception:  # both engines raise their own error types for a bad pattern
        return None
    search = compiled.search
    return lambda text: search(text) is not None


def context_value(context: Mapping[str, Any], name: str) -> Any:
    """A field from the top level of the Unleash context, else from its ``properties``."""
    value = context.get(name)
    if value is None:
        properties = context.get("properties")
        if properties:
            value = properties.get(name)
    return value


def fallback_identifier(context: Mapping[str, Any]) -> str:
    """What stands in for Unleash's random number when a rollout has nothing sticky to hash.

    Unleash draws a fresh random value for "random" stickiness (and for "default" stickiness when
    the context has neither userId nor sessionId). The portal must be deterministic (an evaluation
    is reproducible and auditable, and the server and the SDK must agree), so the whole context,
    serialised canonically, is hashed instead: identical contexts always share a bucket, distinct
    contexts spread across buckets like random draws would. An empty context always lands in the
    same bucket.
    """
    return json.dumps(context, sort_keys=True, separators=(",", ":"), default=str)


_SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


def parse_semver(text: Any) -> tuple | None:
    """A sort key with SemVer 2.0.0 precedence (build metadata ignored), or None if invalid."""
    if not isinstance(text, str):
        return None
    match = _SEMVER.fullmatch(text)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    if pre is None:
        pre_key: tuple = (1,)
    else:
        # numeric identifiers sort before alphanumeric ones; a shorter list sorts first
        pre_key = (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    return (int(major), int(minor), int(patch), pre_key)


def _parse_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _parse_date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _parse_ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        return None


def _string_values(raw: Mapping[str, Any]) -> list[str]:
    values = raw.get("values")
    if values is None:
        single = raw.get("value")
        values = [] if single is None else [single]
    return [str(v) for v in values]


def _never(context: Mapping[str, Any]) -> bool:
    return False


def _current_time(context: Mapping[str, Any]) -> Any:
    value = context_value(context, "currentTime")
    # Unleash fills currentTime with "now" when the caller leaves it out.
    return datetime.now(UTC) if value is None else value


def _build_test(operator: str, raw: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """A test on a present context value, or None when the operator is unknown."""
    values = _string_values(raw)
    case_insensitive = bool(raw.get("caseInsensitive"))
    if operator == "IN" or operator == "NOT_IN":
        allowed = frozenset(values)
        return lambda v: str(v) in allowed
    if operator in ("STR_STARTS_WITH", "STR_ENDS_WITH"):
        # str.startswith/endswith accept a tuple of candidates
        check = str.startswith if operator == "STR_STARTS_WITH" else str.endswith
        if case_insensitive:
            lowered = tuple(v.lower() for v in values)
            return lambda v: check(str(v).lower(), lowered)
        candidates = tuple(values)
        return lambda v: check(str(v), candidates)
    if operator == "STR_CONTAINS":
        if case_insensitive:
            lowered = tuple(v.lower() for v in values)
            return lambda v: any(n in str(v).lower() for n in lowered)
        return lambda v: any(n in str(v) for n in values)
    if operator.startswith("NUM_"):
        return _ordered_test(operator, "NUM_", _parse_number(raw.get("value")), _parse_number)
    if operator in ("DATE_AFTER", "DATE_BEFORE"):
        bound = _parse_date(raw.get("value")) if raw.get("value") is not None else None
        if bound is None:
            return lambda v: False
        if operator == "DATE_AFTER":
            return lambda v: (d := _parse_date(v)) is not None and d > bound
        return lambda v: (d := _parse_date(v)) is not None and d < bound
    if operator.startswith("SEMVER_"):
        return _ordered_test(operator, "SEMVER_", parse_semver(raw.get("value")), parse_semver)
    if operator == "REGEX":
        matchers = [m for m in (regex_compile(p, case_insensitive) for p in values) if m is not None]
        return lambda v: any(m(str(v)) for m in matchers)
    if operator == "IN_CIDR":
        networks = []
        for text in values:
            try:
                networks.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError:
                continue
        return lambda v: (
            (ip := _parse_ip(v)) is not None and any(ip.version == net.version and ip in net for net in networks)
        )
    return None


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": op.eq, "GT": op.gt, "GTE": op.ge, "LT": op.lt, "LTE": op.le,
}


def _ordered_test(operator: str, prefix: str, bound: Any, parse: Callable[[Any], Any]) -> Callable[[Any], bool] | None:
    """NUM_* and SEMVER_*: compare the parsed context value with the bound (false when either does not parse)."""
    compare = _ORDER.get(operator.removeprefix(prefix))
    if compare is None:
        return None
    if bound is None:
        return lambda v: False
    return lambda v: (parsed := parse(v)) is not None and compare(parsed, bound)


def compile_constraint(raw: Mapping[str, Any]) -> Predicate:
    """Turn one constraint from the snapshot into a predicate over the context."""
    operator = str(raw.get("operator", ""))
    name = str(raw.get("contextName", ""))
    test = _build_test(operator, raw)
    if test is None:
        return _never
    inverted = bool(raw.get("inverted"))
    missing_result = operator == "NOT_IN"
    negate = operator == "NOT_IN"
    read = _current_time if name == "currentTime" else None

    def check(context: Mapping[str, Any]) -> bool:
        value = read(context) if read is not None else context_value(context, name)
        if value is None:
            result = missing_result
        else:
            result = test(value) != negate
        return result != inverted

    return check


def compile_all(raws: Iterable[Mapping[str, Any]]) -> tuple[Predicate, ...]:
    return tuple(compile_constraint(raw) for raw in raws)
