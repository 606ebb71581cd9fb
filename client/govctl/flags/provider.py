"""An OpenFeature-style provider over the flag SDK, without depending on openfeature-sdk.

It has the provider methods OpenFeature clients call (``resolve_boolean_details`` and friends)
and returns a small ``ResolutionDetails`` dataclass with the same fields as OpenFeature's
``FlagResolutionDetails``. ``govctl.openfeature_provider`` adapts it to the real SDK when that is
installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from govctl.flags.evaluation import ErrorCode, Result

__all__ = ["GovernanceProvider", "ProviderMetadata", "ResolutionDetails", "unleash_context"]

# Unleash keeps these at the top level of its context; everything else goes under "properties".
_TOP_LEVEL = frozenset({"userId", "sessionId", "remoteAddress", "environment", "appName", "currentTime"})


@dataclass(frozen=True, slots=True)
class ResolutionDetails:
    value: Any
    variant: str | None = None
    reason: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    flag_metadata: Mapping[str, bool | int | float | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    name: str


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return value


def unleash_context(evaluation_context: Any) -> dict[str, Any]:
    """An Unleash context from an OpenFeature evaluation context (targeting key → userId) or a dict."""
    if evaluation_context is None:
        return {}
    if isinstance(evaluation_context, Mapping):
        return dict(evaluation_context)
    context: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    targeting_key = getattr(evaluation_context, "targeting_key", None)
    if targeting_key:
        context["userId"] = str(targeting_key)
    for name, value in (getattr(evaluation_context, "attributes", None) or {}).items():
        if name == "properties" and isinstance(value, Mapping):
            properties.update({k: _as_text(v) for k, v in value.items()})
        elif name in _TOP_LEVEL:
            context[name] = _as_text(value)
        else:
            properties[name] = _as_text(value)
    if properties:
        context["properties"] = properties
    return context


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_object(value: Any) -> bool:
    return isinstance(value, Mapping | list)


class GovernanceProvider:
    """Resolves flags through a ``FlagClient`` (the process-wide one from the environment by default)."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            from govctl.sdk import get_client

            client = get_client()
        self.client = client

    def get_metadata(self) -> ProviderMetadata:
        return ProviderMetadata(name="governance-portal")

    def on_configuration_changed(self, listener: Any) -> None:
        """``listener(old_revision, new_revision, changed_keys)`` on every new snapshot the client applies
        (streamed or polled); the OpenFeature adapter turns it into PROVIDER_CONFIGURATION_CHANGED."""
        register = getattr(self.client, "on_change", None)
        if register is not None:  # a StaticFlagClient never changes
            register(listener)

    def _resolve(self, key: str, default: Any, context: Any, accepts: Any, type_name: str) -> ResolutionDetails:
        result: Result = self.client.evaluate(key, unleash_context(context), default)
        metadata = {} if result.revision is None else {"revision": _as_text(result.revision)}
        variant = result.variant.name if result.variant.enabled else None
        if result.error_code is not None and result.error_code != ErrorCode.GENERAL:
            return ResolutionDetails(default, None, result.reason, result.error_code, result.error_message, metadata)
        value = result.value
        if value is None or value is default:
            value = default
        elif not accepts(value):
            return ResolutionDetails(
                default, variant, "ERROR", ErrorCode.TYPE_MISMATCH,
                f"flag {key!r} holds {type(value).__name__}, not {type_name}", metadata,
            )  # fmt: skip
        if type_name == "float" and value is not None and not isinstance(value, bool):
            value = float(value)
        return ResolutionDetails(value, variant, result.reason, result.error_code, result.error_message, metadata)

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: Any = None
    ) -> ResolutionDetails:
        return self._resolve(flag_key, default_value, evaluation_context, _is_boolean, "bool")

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: Any = None
    ) -> ResolutionDetails:
        return self._resolve(flag_key, default_value, evaluation_context, _is_string, "str")

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: Any = None
    ) -> ResolutionDetails:
        return self._resolve(flag_key, default_value, evaluation_context, _is_integer, "int")

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: Any = None
    ) -> ResolutionDetails:
        return self._resolve(flag_key, default_value, evaluation_context, _is_number, "float")

    def resolve_object_details(
        self, flag_key: str, default_value: Any, evaluation_context: Any = None
    ) -> ResolutionDetails:
        return self._resolve(flag_key, default_value, evaluation_context, _is_object, "object")
