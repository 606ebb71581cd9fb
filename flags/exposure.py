"""Whether a change of strategies narrows a flag's audience (pure; no Django).

A change "narrows" when every context the new strategies turn on was already turned on by the
old ones. The check is structural and conservative: when in doubt the answer is "not narrower",
so the change goes through the second-person path rather than slipping through as a narrowing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

# Parameters that pick *which* contexts match, per strategy; a narrowing may only shrink these.
_PERCENT = {"flexibleRollout": "rollout", "gradualRolloutRandom": "percentage",
            "gradualRolloutUserId": "percentage", "gradualRolloutSessionId": "percentage"}
_LISTS = {"userWithId": "userIds", "remoteAddress": "IPs", "applicationHostname": "hostNames"}


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def _items(value: Any) -> set[str]:
    return {part.strip() for part in str(value or "").split(",") if part.strip()}


def _condition_set(strategy: Mapping[str, Any]) -> set[str]:
    constraints = {_canon(c) for c in strategy.get("constraints") or ()}
    segments = {f"segment:{s}" for s in strategy.get("segments") or ()}
    return constraints | segments


def _covers(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True when every context `new` matches is matched by `old`."""
    # More conditions (constraints, segments) can only match fewer contexts.
    if not _condition_set(old) <= _condition_set(new):
        return False
    if _canon(old.get("variants") or []) != _canon(new.get("variants") or []):
        return False
    old_name, new_name = old.get("name"), new.get("name")
    old_params, new_params = old.get("parameters") or {}, new.get("parameters") or {}
    if old_name == "default":
        return True  # the old strategy matched every context that passes its conditions
    if old_name != new_name:
        return False
    if old_name in _PERCENT:
        field = _PERCENT[old_name]
        rest = {k: v for k, v in old_params.items() if k != field}
        if rest != {k: v for k, v in new_params.items() if k != field}:
            return False  # another stickiness or group id reshuffles who is in
        old_pct, new_pct = _number(old_params.get(field)), _number(new_params.get(field))
        return old_pct is not None and new_pct is not None and new_pct <= old_pct
    if old_name in _LISTS:
        field = _LISTS[old_name]
        return _items(new_params.get(field)) <= _items(old_params.get(field))
    return _canon(old_params) == _canon(new_params)


def strategies_narrower(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> bool:
    """Whether `new` turns the flag on for a subset of the contexts `old` does (equal counts)."""
    if not old:
        return True  # no strategies = on for everyone: anything is within that
    if not new:
        return False  # on for everyone now
    return all(any(_covers(o, n) for o in old) for n in new)


def dependencies_narrower(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> bool:
    """More parent requirements can only turn the flag on for fewer contexts."""
    return {_canon(d) for d in old} <= {_canon(d) for d in new}
