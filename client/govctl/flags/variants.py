"""Unleash variants: weighted, sticky assignment with overrides, and typed payloads."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from govctl.flags.constraints import context_value, fallback_identifier
from govctl.flags.murmur import VARIANT_SEED, normalized_hash

__all__ = ["DISABLED_VARIANT", "NO_VALUE", "Variant", "VariantDef", "VariantSet", "parse_payload", "variant_set"]


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    enabled: bool
    feature_enabled: bool
    payload: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The Unleash SDK shape; ``payload`` is left out when there is none, as Unleash does."""
        data: dict[str, Any] = {"name": self.name, "enabled": self.enabled, "feature_enabled": self.feature_enabled}
        if self.payload is not None:
            data["payload"] = dict(self.payload)
        return data


DISABLED_VARIANT = Variant("disabled", False, False)
DISABLED_VARIANT_FEATURE_ON = Variant("disabled", False, True)

NO_VALUE: Any = object()


def parse_payload(payload: Mapping[str, Any]) -> Any:
    """The typed value of a variant payload, or ``NO_VALUE`` when it does not parse."""
    kind = payload.get("type")
    raw = payload.get("value")
    try:
        if kind == "json":
            return json.loads(raw) if isinstance(raw, str) else raw
        if kind == "number":
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                return raw
            text = str(raw).strip()
            try:
                return int(text)
            except ValueError:
                number = float(text)
                return number if number == number and number not in (float("inf"), float("-inf")) else NO_VALUE
        # "string" and Unleash's "csv" are text as they stand
        return raw if isinstance(raw, str) else NO_VALUE
    except (TypeError, ValueError):
        return NO_VALUE


class VariantDef:
    __slots__ = ("name", "weight", "variant", "value", "overrides")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.name = str(raw.get("name", ""))
        try:
            self.weight = int(raw.get("weight", 0) or 0)
        except (TypeError, ValueError):
            self.weight = 0
        payload = raw.get("payload")
        if not isinstance(payload, Mapping):
            payload = None
        self.variant = Variant(self.name, True, True, payload)
        self.value = None if payload is None else parse_payload(payload)
        self.overrides = tuple(
            (str(o.get("contextName", "")), frozenset(str(v) for v in o.get("values") or ()))
            for o in raw.get("overrides") or ()
            if isinstance(o, Mapping)
        )


class VariantSet:
    """Weighted variants with the stickiness and hash group they are assigned by."""

    __slots__ = ("defs", "total", "stickiness", "group", "has_overrides")

    def __init__(self, defs: tuple[VariantDef, ...], stickiness: str, group: str) -> None:
        self.defs = defs
        self.total = sum(d.weight for d in defs if d.weight > 0)
        self.stickiness = stickiness
        self.group = group
        self.has_overrides = any(d.overrides for d in defs)

    def pick(self, context: Mapping[str, Any]) -> tuple[VariantDef | None, str | None]:
        """The variant for ``context`` and what decided it: an override, a weighted split, or nothing."""
        if self.has_overrides:
            for d in self.defs:
                for name, values in d.overrides:
                    value = context_value(context, name)
                    if value is not None and str(value) in values:
                        return d, "TARGETING_MATCH"
        if self.total <= 0:
            return None, None
        stickiness = self.stickiness
        if stickiness == "default":
            seed = context.get("userId") or context.get("sessionId")
        elif stickiness == "random":
            seed = None
        else:
            seed = context_value(context, stickiness)
        if seed is None or seed == "":
            seed = fallback_identifier(context)
        target = normalized_hash(str(seed), self.group, self.total, VARIANT_SEED)
        running = 0
        for d in self.defs:
            if d.weight <= 0:
                continue
            running += d.weight
            if running >= target:
                return d, ("SPLIT" if len(self.defs) > 1 else None)
        return None, None


def variant_set(raws: Any, stickiness: str | None, group: str) -> VariantSet | None:
    """Compile a variants list; ``stickiness`` (a strategy's) wins over the first variant's."""
    if not raws or not isinstance(raws, Sequence):
        return None
    defs = tuple(VariantDef(r) for r in raws if isinstance(r, Mapping))
    if not defs:
        return None
    chosen = stickiness or str(raws[0].get("stickiness") or "default")
    return VariantSet(defs, chosen, group)
