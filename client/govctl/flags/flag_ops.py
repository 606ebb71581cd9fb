"""The built-in flag keys and the vocabulary of flag operations (standard library only).

One list shared by the portal (ops console, `POST /api/v1/flags/.../changes`) and govctl (`flags set`,
`kill`, `unkill`, `maintenance`); the CLI cannot import Django, so it lives here and the portal imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BUILTIN_KILL_SWITCHES",
    "KILL_API",
    "KILL_DATABASE",
    "MAINTENANCE",
    "OPERATIONS",
    "RATE_MULTIPLIER",
    "FlagOperation",
    "console_operations",
]

# The built-in flags every service has (the governed services' middleware reads them).
MAINTENANCE = "maintenance_mode"
KILL_API = "kill_switch_api"
KILL_DATABASE = "kill_switch_database"
RATE_MULTIPLIER = "rate_limit_multiplier"
BUILTIN_KILL_SWITCHES = frozenset({MAINTENANCE, KILL_API, KILL_DATABASE})

ENABLE = "enable"
DISABLE = "disable"
SET_STRATEGIES = "set_strategies"
SET_NUMBER = "set_number"
ENGAGE = "engage_kill_switch"
DISENGAGE = "disengage_kill_switch"
MAINTENANCE_ON = "enter_maintenance"
MAINTENANCE_OFF = "exit_maintenance"


@dataclass(frozen=True, slots=True)
class FlagOperation:
    name: str  # the API's and govctl's name
    verb: str  # the ops console's action (unique per flag) and what its button says
    title: str  # the confirmation page's title
    payload: frozenset[str]  # the payload fields it accepts
    takes_expiry: bool = False  # an emergency toggle: may revert on its own
    kill_switch: bool = False  # applies to kill switches only
    maintenance: bool = False  # applies to MAINTENANCE only


OPERATIONS: dict[str, FlagOperation] = {op.name: op for op in (
    FlagOperation(ENABLE, "enable", "Enable", frozenset()),
    FlagOperation(DISABLE, "disable", "Disable", frozenset()),
    FlagOperation(SET_STRATEGIES, "set_strategies", "Set strategies",
                  frozenset({"strategies", "variants", "dependencies"})),
    FlagOperation(SET_NUMBER, "set_number", "Set value", frozenset({"number"})),
    FlagOperation(ENGAGE, "engage", "Engage", frozenset(), takes_expiry=True, kill_switch=True),
    FlagOperation(DISENGAGE, "disengage", "Disengage", frozenset(), kill_switch=True),
    FlagOperation(MAINTENANCE_ON, "engage", "Maintenance on", frozenset(), takes_expiry=True, kill_switch=True,
                  maintenance=True),
    FlagOperation(MAINTENANCE_OFF, "disengage", "Maintenance off", frozenset(), kill_switch=True, maintenance=True),
)}


def console_operations(*, key: str, kill_switch: bool, number: bool, enabled: bool) -> list[FlagOperation]:
    """What the ops console offers for a flag in its current state (kill switches, number flags)."""
    if kill_switch:
        on, off = (MAINTENANCE_ON, MAINTENANCE_OFF) if key == MAINTENANCE else (ENGAGE, DISENGAGE)
        return [OPERATIONS[off], OPERATIONS[on]] if enabled else [OPERATIONS[on]]
    if number:
        return [OPERATIONS[SET_NUMBER]]
    return []


def refusal(operation: FlagOperation, *, key: str, kill_switch: bool) -> str | None:
    """Why `operation` does not apply to flag `key` (None: it does)."""
    if operation.maintenance and key != MAINTENANCE:
        return f"{operation.name} applies to {MAINTENANCE}; use {ENGAGE} or {DISENGAGE} for {key}."
    if operation.kill_switch and not kill_switch:
        return f"{key} is not a kill switch: {operation.name} applies to kill switches only."
    return None
