"""Flag evaluation: one pure engine for the portal and the SDK (standard library only).

A snapshot in the Unleash client-API format (``{version, features, segments}``, plus the portal's
``revision`` and per-feature ``failureMode`` / ``valueType``) is compiled once into a ``State``;
``evaluate(state, key, context)`` then answers with a ``Result`` carrying the value, the Unleash
variant, an OpenFeature reason and error code, and the snapshot revision.

Semantics follow the Unleash client specification (strategies, constraints, segments, variants,
dependencies). Where Unleash SDKs disagree, the official Rust engine (Yggdrasil, used by the
Python SDK) is followed: variants with "default" stickiness hash userId, then sessionId; strategy
variants use the strategy's stickiness and groupId; a parent flag may not itself have parents.

Reasons: DISABLED (flag off), DEFAULT (on, but no strategy matched or a parent requirement
failed), STATIC (on for everyone: no strategies, or an unconditional one), TARGETING_MATCH (a
condition on the context decided), SPLIT (a percentage rollout or a weighted variant decided),
ERROR with FLAG_NOT_FOUND or PARSE_ERROR (a payload that does not parse as its declared type).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from govctl.flags.strategies import CompiledStrategy, compile_strategy
from govctl.flags.variants import (
    DISABLED_VARIANT,
    DISABLED_VARIANT_FEATURE_ON,
    NO_VALUE,
    Variant,
    VariantDef,
    variant_set,
)

__all__ = [
    "DISABLED_VARIANT",
    "ErrorCode",
    "Reason",
    "Result",
    "SnapshotError",
    "State",
    "Variant",
    "evaluate",
]


class Reason:
    STATIC = "STATIC"
    TARGETING_MATCH = "TARGETING_MATCH"
    SPLIT = "SPLIT"
    DEFAULT = "DEFAULT"
    DISABLED = "DISABLED"
    CACHED = "CACHED"
    STALE = "STALE"
    ERROR = "ERROR"


class ErrorCode:
    FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    PARSE_ERROR = "PARSE_ERROR"
    INVALID_CONTEXT = "INVALID_CONTEXT"
    GENERAL = "GENERAL"


FAILURE_MODES = ("fail_closed", "fail_open", "last_known_good")
VALUE_TYPES = ("boolean", "string", "number", "json")


class SnapshotError(ValueError):
    """The snapshot is not in the Unleash client-API format."""


@dataclass(frozen=True, slots=True)
class Result:
    key: str
    value: Any
    enabled: bool
    variant: Variant
    reason: str
    error_code: str | None = None
    error_message: str | None = None
    revision: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "enabled": self.enabled,
            "variant": self.variant.to_dict(),
            "reason": self.reason,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "revision": self.revision,
        }


class _Feature:
    __slots__ = (
        "name",
        "enabled",
        "strategies",
        "variants",
        "dependencies",
        "failure_mode",
        "value_type",
        "raw",
    )

    def __init__(self, raw: Mapping[str, Any], segments: Mapping[Any, Any]) -> None:
        self.raw = raw
        self.name = str(raw["name"])
        self.enabled = bool(raw.get("enabled", False))
        self.strategies: tuple[CompiledStrategy, ...] = tuple(
            compile_strategy(s, self.name, segments) for s in raw.get("strategies") or ()
        )
        self.variants = variant_set(raw.get("variants"), None, self.name)
        self.dependencies = tuple(
            (str(d.get("feature", "")), d.get("enabled", True) is not False, tuple(d.get("variants") or ()))
            for d in raw.get("dependencies") or ()
            if isinstance(d, Mapping)
        )
        mode = raw.get("failureMode") or "last_known_good"
        self.failure_mode = mode if mode in FAILURE_MODES else "last_known_good"
        value_type = raw.get("valueType") or "boolean"
        self.value_type = value_type if value_type in VALUE_TYPES else "boolean"

    def match(self, state: State, context: Mapping[str, Any]) -> tuple[bool, str, CompiledStrategy | None]:
        """Whether the flag is on for ``context``, why, and which strategy turned it on."""
        if not self.enabled:
            return False, Reason.DISABLED, None
        if self.dependencies and not self._parents_satisfied(state, context):
            return False, Reason.DEFAULT, None
        if not self.strategies:
            return True, Reason.STATIC, None
        for strategy in self.strategies:
            if strategy.is_enabled(context):
                return True, strategy.reason, strategy
        return False, Reason.DEFAULT, None

    def _parents_satisfied(self, state: State, context: Mapping[str, Any]) -> bool:
        for parent_name, want_enabled, want_variants in self.dependencies:
            parent = state.features.get(parent_name)
            # Unleash allows one level of dependency only; a parent with parents fails closed.
            if parent is None or parent.dependencies:
                return False
            enabled, _, strategy = parent.match(state, context)
            if enabled != want_enabled:
                return False
            if enabled and want_variants:
                # A parent without variants yields Unleash's "disabled" variant (feature on), and a
                # dependency may ask for exactly that.
                picked, _ = parent.pick_variant(context, strategy)
                name = DISABLED_VARIANT_FEATURE_ON.name if picked is None else picked.name
                if name not in want_variants:
                    return False
        return True

    def pick_variant(
        self, context: Mapping[str, Any], matched: CompiledStrategy | None
    ) -> tuple[VariantDef | None, str | None]:
        variant_set = None
        if matched is not None and matched.variants is not None:
            variant_set = matched.variants
        elif matched is not None and self._later_strategy_variants_possible(matched):
            # The first matching strategy *with* variants supplies them (as in Unleash's engine),
            # even when an earlier strategy without variants already turned the flag on.
            index = self.strategies.index(matched)
            for strategy in self.strategies[index + 1 :]:
                if strategy.variants is not None and strategy.is_enabled(context):
                    variant_set = strategy.variants
                    break
        if variant_set is None:
            variant_set = self.variants
        if variant_set is None:
            return None, None
        return variant_set.pick(context)

    def _later_strategy_variants_possible(self, matched: CompiledStrategy) -> bool:
        found = False
        for strategy in self.strategies:
            if found and strategy.variants is not None:
                return True
            found = found or strategy is matched
        return False


class State:
    """A compiled snapshot. Build once per snapshot; evaluating is then cheap and thread-safe."""

    __slots__ = ("features", "segments", "revision", "version", "raw")

    def __init__(self, snapshot: Mapping[str, Any]) -> None:
        if not isinstance(snapshot, Mapping):
            raise SnapshotError("a snapshot must be a JSON object with a 'features' list")
        features = snapshot.get("features")
        if not isinstance(features, list):
            raise SnapshotError("a snapshot must have a 'features' list")
        segments = snapshot.get("segments") or []
        if not isinstance(segments, list):
            raise SnapshotError("'segments' must be a list")
        self.raw = snapshot
        self.revision = snapshot.get("revision")
        self.version = snapshot.get("version")
        self.segments = {s.get("id"): s for s in segments if isinstance(s, Mapping)}
        compiled: dict[str, _Feature] = {}
        for index, raw in enumerate(features):
            if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
                raise SnapshotError(f"feature #{index} must be an object with a string 'name'")
            try:
                compiled[raw["name"]] = _Feature(raw, self.segments)
            except (AttributeError, TypeError, ValueError, KeyError) as exc:
                raise SnapshotError(f"feature {raw['name']!r} is malformed: {exc}") from None
        self.features = compiled

    @classmethod
    def from_json(cls, text: str | bytes) -> State:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SnapshotError(f"the snapshot is not valid JSON: {exc}") from None
        return cls(data)

    def failure_mode(self, key: str) -> str | None:
        feature = self.features.get(key)
        return None if feature is None else feature.failure_mode

    def value_type(self, key: str) -> str | None:
        feature = self.features.get(key)
        return None if feature is None else feature.value_type


_EMPTY_CONTEXT: Mapping[str, Any] = {}


def evaluate(state: State, key: str, context: Mapping[str, Any] | None = None, default: Any = None) -> Result:
    """Evaluate flag ``key`` for ``context`` (the Unleash context: userId, sessionId, properties...).

    ``value`` is the enabled state for boolean flags and the variant payload for string, number
    and JSON flags; ``default`` stands in when there is no value (flag unknown, off, or without a
    payload).
    """
    feature = state.features.get(key)
    if feature is None:
        return Result(
            key, default, False, DISABLED_VARIANT, Reason.ERROR, ErrorCode.FLAG_NOT_FOUND,
            f"flag {key!r} is not in the snapshot", state.revision,
        )  # fmt: skip
    if context is None:
        context = _EMPTY_CONTEXT
    elif not isinstance(context, Mapping) or not isinstance(context.get("properties") or {}, Mapping):
        return Result(
            key, default, False, DISABLED_VARIANT, Reason.ERROR, ErrorCode.INVALID_CONTEXT,
            "the context must be an object whose 'properties' is an object", state.revision,
        )  # fmt: skip
    enabled, reason, strategy = feature.match(state, context)
    if not enabled:
        value = False if feature.value_type == "boolean" else default
        return Result(key, value, False, DISABLED_VARIANT, reason, None, None, state.revision)
    picked, variant_reason = feature.pick_variant(context, strategy)
    if picked is None:
        variant = DISABLED_VARIANT_FEATURE_ON
    else:
        variant = picked.variant
        # an override or a weighted draw among several variants is what decided the answer
        if variant_reason is not None and variant_reason != Reason.STATIC:
            reason = variant_reason
    if feature.value_type == "boolean":
        return Result(key, True, True, variant, reason, None, None, state.revision)
    if picked is None or picked.variant.payload is None:
        return Result(key, default, True, variant, reason, None, None, state.revision)
    value = picked.value
    if value is NO_VALUE:
        return Result(
            key, default, True, variant, Reason.ERROR, ErrorCode.PARSE_ERROR,
            f"variant {picked.name!r} payload does not parse as {picked.variant.payload.get('type')!r}",
            state.revision,
        )  # fmt: skip
    return Result(key, value, True, variant, reason, None, None, state.revision)
