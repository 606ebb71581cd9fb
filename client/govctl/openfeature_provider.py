"""The governance provider for the official OpenFeature SDK (``pip install openfeature-sdk``).

    from openfeature import api
    from govctl.openfeature_provider import GovernanceOpenFeatureProvider
    api.set_provider(GovernanceOpenFeatureProvider())

Only this module needs openfeature-sdk; nothing else in govctl imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

try:
    from openfeature.evaluation_context import EvaluationContext
    from openfeature.event import ProviderEventDetails
    from openfeature.exception import ErrorCode as OFErrorCode
    from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType
    from openfeature.flag_evaluation import Reason as OFReason
    from openfeature.provider import AbstractProvider
    from openfeature.provider.metadata import Metadata
except ImportError as exc:  # pragma: no cover - exercised only without the optional package
    raise ImportError(
        "govctl.openfeature_provider needs the openfeature-sdk package (pip install openfeature-sdk); "
        "govctl.flags.provider.GovernanceProvider works without it"
    ) from exc

from govctl.flags.provider import GovernanceProvider, ResolutionDetails

__all__ = ["GovernanceOpenFeatureProvider"]


def _convert(details: ResolutionDetails) -> FlagResolutionDetails[Any]:
    return FlagResolutionDetails(
        value=details.value,
        variant=details.variant,
        reason=OFReason(details.reason) if details.reason else None,
        error_code=OFErrorCode(details.error_code) if details.error_code else None,
        error_message=details.error_message,
        flag_metadata=dict(details.flag_metadata),
    )


class GovernanceOpenFeatureProvider(AbstractProvider):
    def __init__(self, client: Any = None) -> None:
        super().__init__()
        self._inner = GovernanceProvider(client)
        self._inner.on_configuration_changed(self._changed)

    def _changed(self, old_revision: Any, new_revision: Any, keys: frozenset[str]) -> None:
        if old_revision is None:  # the first snapshot: PROVIDER_READY, not a change
            return
        self.emit_provider_configuration_changed(ProviderEventDetails(
            flags_changed=sorted(keys), message=f"flag snapshot revision {old_revision} -> {new_revision}",
            metadata={} if new_revision is None else {"revision": str(new_revision)}))

    @property
    def client(self) -> Any:
        return self._inner.client

    def get_metadata(self) -> Metadata:
        return Metadata(name=self._inner.get_metadata().name)

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        self._inner.client.start()

    def shutdown(self) -> None:
        self._inner.client.stop()

    def _call(self, method: Callable[..., ResolutionDetails], key: str, default: Any, ctx: Any) -> Any:
        return _convert(method(key, default, ctx))

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return self._call(self._inner.resolve_boolean_details, flag_key, default_value, evaluation_context)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._call(self._inner.resolve_string_details, flag_key, default_value, evaluation_context)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._call(self._inner.resolve_integer_details, flag_key, default_value, evaluation_context)

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return self._call(self._inner.resolve_float_details, flag_key, default_value, evaluation_context)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._call(self._inner.resolve_object_details, flag_key, default_value, evaluation_context)
