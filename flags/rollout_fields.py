"""The common rollouts as form fields, translated to and from the Unleash JSON a state stores.

A state's strategies and variants are Unleash JSON (`FlagState.strategies`, `.variants`). Most states use
one shape: an optional percentage rollout (`flexibleRollout` with stickiness and group id), optional user
ids (`userWithId`), the same constraints on both, and weighted feature variants. `from_definition` reads that
shape back into a `Rollout` (None when the JSON holds more: segments, strategy variants, other strategies,
inverted or case-insensitive constraints, overrides…), `to_definition` writes it. Plain Python: the form
(flags/rollout_form.py) parses the text, and the service's `validate_definition` stays the one judge of
whether the JSON is valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Operators whose constraint holds a list of `values`; the others compare with one `value`.
LIST_OPERATORS = {"IN", "NOT_IN", "STR_STARTS_WITH", "STR_ENDS_WITH", "STR_CONTAINS", "IN_CIDR"}
STICKINESS = ["default", "userId", "sessionId", "random"]


@dataclass
class Variant:
    name: str
    weight: int  # Unleash weight, 0..1000 (shown as a percentage: 500 = 50%)
    payload: str = ""  # the payload's value; its type follows the flag's value type


@dataclass
class Rollout:
    percentage: float | None = None  # None: no percentage rollout
    stickiness: str = "default"
    group_id: str = ""
    user_ids: list[str] = field(default_factory=list)
    constraints: list[dict[str, Any]] = field(default_factory=list)  # Unleash constraint objects
    variants: list[Variant] = field(default_factory=list)


def _plain_constraint(raw: Any) -> bool:
    if not isinstance(raw, Mapping) or set(raw) - {"contextName", "operator", "values", "value", "inverted",
                                                    "caseInsensitive"}:
        return False
    if raw.get("inverted") or raw.get("caseInsensitive"):
        return False
    if raw.get("operator") in LIST_OPERATORS:
        values = raw.get("values")
        return "value" not in raw and isinstance(values, list) and all(isinstance(v, str) for v in values)
    return "values" not in raw or not raw["values"]


def _plain_variant(raw: Any) -> bool:
    if not isinstance(raw, Mapping) or set(raw) - {"name", "weight", "weightType", "stickiness", "payload"}:
        return False
    if raw.get("weightType", "variable") != "variable" or raw.get("stickiness", "default") != "default":
        return False
    payload = raw.get("payload")
    return payload is None or (isinstance(payload, Mapping) and set(payload) == {"type", "value"}
                               and isinstance(payload["value"], str))


def from_definition(strategies: Any, variants: Any) -> Rollout | None:
    """The rollout the JSON describes, or None when it needs the JSON (anything the fields cannot show)."""
    if not isinstance(strategies, list) or not isinstance(variants, list):
        return None
    rollout = Rollout()
    constraints: list[Any] | None = None
    names = [s.get("name") if isinstance(s, Mapping) else None for s in strategies]
    if len(set(names)) != len(names) or ("default" in names and len(names) > 1):
        return None
    for strategy in strategies:
        if set(strategy) - {"name", "parameters", "constraints"}:
            return None  # segments, strategy variants, ids, titles…: the JSON holds more than the fields show
        own = strategy.get("constraints") or []
        if constraints is not None and own != constraints:
            return None  # each strategy has its own constraints: only the JSON can say that
        constraints = own
        params = strategy.get("parameters") or {}
        if not isinstance(params, Mapping):
            return None
        if strategy["name"] == "flexibleRollout" and set(params) <= {"rollout", "stickiness", "groupId"}:
            try:
                rollout.percentage = float(str(params.get("rollout", "100")))
            except ValueError:
                return None
            rollout.stickiness = str(params.get("stickiness") or "default")
            rollout.group_id = str(params.get("groupId") or "")
        elif strategy["name"] == "userWithId" and set(params) <= {"userIds"}:
            rollout.user_ids = [u.strip() for u in str(params.get("userIds") or "").split(",") if u.strip()]
        elif strategy["name"] != "default" or params:
            return None
    if not all(_plain_constraint(c) for c in constraints or []):
        return None
    rollout.constraints = [dict(c) for c in constraints or []]
    if not all(_plain_variant(v) for v in variants):
        return None
    rollout.variants = [Variant(str(v.get("name", "")), v.get("weight", 0),
                                (v.get("payload") or {}).get("value", "")) for v in variants]
    return rollout


def to_definition(rollout: Rollout, *, flag_key: str, payload_type: str) -> tuple[list[dict[str, Any]],
                                                                               list[dict[str, Any]]]:
    """The strategies and variants of a rollout. No percentage and no user ids: constraints alone (a `default`
    strategy), or no strategy at all (on for everyone while the state is on)."""
    strategies: list[dict[str, Any]] = []
    constraints = [dict(c) for c in rollout.constraints]
    if rollout.percentage is not None:
        strategies.append({"name": "flexibleRollout", "parameters": {
            "rollout": f"{rollout.percentage:g}", "stickiness": rollout.stickiness or "default",
            "groupId": rollout.group_id or flag_key}})
    if rollout.user_ids:
        strategies.append({"name": "userWithId", "parameters": {"userIds": ",".join(rollout.user_ids)}})
    if not strategies and constraints:
        strategies.append({"name": "default"})
    for strategy in strategies:
        if constraints:
            strategy["constraints"] = constraints
    variants: list[dict[str, Any]] = []
    for variant in rollout.variants:
        row: dict[str, Any] = {"name": variant.name, "weight": variant.weight, "weightType": "variable",
                               "stickiness": "default"}
        if variant.payload:
            row["payload"] = {"type": payload_type, "value": variant.payload}
        variants.append(row)
    return strategies, variants


# --- the text of the fields ------------------------------------------------------------------------------


def constraint_line(constraint: Mapping[str, Any]) -> str:
    values = constraint.get("values") if constraint.get("operator") in LIST_OPERATORS else [constraint.get("value")]
    return f"{constraint['contextName']} {constraint['operator']} {', '.join(str(v) for v in values or [] if v is not None)}"


def parse_constraint_line(line: str, known_operators: set[str]) -> dict[str, Any]:
    """`country IN NL, BE` → an Unleash constraint; ValueError with a message a person understands."""
    parts = line.split(None, 2)
    if len(parts) < 2:
        raise ValueError(f"{line!r}: write a context field, an operator and the values, e.g. 'country IN NL, BE'.")
    context_name, operator = parts[0], parts[1].upper()
    if operator not in known_operators:
        raise ValueError(f"{line!r}: unknown operator {parts[1]!r}; known: {', '.join(sorted(known_operators))}.")
    values = [v.strip() for v in (parts[2] if len(parts) > 2 else "").split(",") if v.strip()]
    if not values:
        raise ValueError(f"{line!r}: give at least one value after {operator}.")
    if operator in LIST_OPERATORS:
        return {"contextName": context_name, "operator": operator, "values": values}
    if len(values) > 1:
        raise ValueError(f"{line!r}: {operator} compares with one value.")
    return {"contextName": context_name, "operator": operator, "value": values[0]}


def variant_line(variant: Variant) -> str:
    text = f"{variant.name} {variant.weight / 10:g}%"
    return f"{text} {variant.payload}" if variant.payload else text


def parse_variant_line(line: str) -> Variant:
    """`blue 50%` or `blue 50% payload text` → a variant of weight 500."""
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[1].endswith("%"):
        raise ValueError(f"{line!r}: write a name and its share, e.g. 'blue 50%' (optionally a payload after it).")
    try:
        percent = float(parts[1][:-1])
    except ValueError:
        raise ValueError(f"{line!r}: {parts[1]!r} is not a percentage.") from None
    weight = round(percent * 10)
    if not 0 <= percent <= 100 or abs(weight - percent * 10) > 1e-6:
        raise ValueError(f"{line!r}: a share is 0% to 100% with at most one decimal.")
    return Variant(parts[0], weight, parts[2].strip() if len(parts) > 2 else "")
