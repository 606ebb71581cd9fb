"""One dispatcher from the vocabulary of flag operations (govctl.flags.flag_ops) to the services.

The ops console and `POST /api/v1/flags/.../changes` both call `perform`; govctl sends the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from govctl.flags import flag_ops

from flags import expiry, services
from flags.models import FlagState, Kind, Operation


def perform(*, state: FlagState, operation: str, payload: Mapping[str, Any], actor: Any, reason: str,
            expected_revision: int | None = None, expires_in: timedelta | None = None) -> services.Outcome:
    """Apply one named operation to `state` through the services (their rules, audit and locks)."""
    op = flag_ops.OPERATIONS.get(operation)
    if op is None:
        raise ValidationError({"operation": f"'{operation}' is not an operation; use one of "
                                            f"{', '.join(flag_ops.OPERATIONS)}."})
    refusal = flag_ops.refusal(op, key=state.flag.key, kill_switch=state.flag.kind == Kind.KILL_SWITCH)
    if refusal:
        raise ValidationError({"operation": refusal})
    if expires_in is not None and not op.takes_expiry:
        raise ValidationError({"expires_in": f"{operation} does not expire."})
    common: dict[str, Any] = {"actor": actor, "reason": reason, "expected_revision": expected_revision}
    if op.name in (flag_ops.ENABLE, flag_ops.DISABLE):
        return services.set_enabled(state=state, enabled=op.name == flag_ops.ENABLE, **common)
    if op.name == flag_ops.SET_STRATEGIES:
        return services.change_state(state=state, operation=Operation.SET_STRATEGIES, payload=payload, **common)
    if op.name == flag_ops.SET_NUMBER:
        return services.set_number(state=state, number=payload["number"], **common)
    if op.name == flag_ops.MAINTENANCE_ON:
        return services.enter_maintenance(service=state.flag.service, environment=state.environment,
                                          expires_in=expires_in or expiry.DEFAULT_MAINTENANCE, **common)
    if op.name == flag_ops.MAINTENANCE_OFF:
        return services.exit_maintenance(service=state.flag.service, environment=state.environment, **common)
    if op.name == flag_ops.ENGAGE:
        return services.engage_kill_switch(state=state, expires_in=expires_in, **common)
    return services.disengage_kill_switch(state=state, **common)
