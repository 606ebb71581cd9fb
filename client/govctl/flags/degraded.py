"""The degraded answer: one pure rule for the portal (flags.delivery) and the SDK (govctl.sdk).

Where the flag data came from decides the answer and the reason it carries:

- ``FRESH``: confirmed by its source (the portal for the SDK, the database or shared cache for the portal):
  the evaluator's own answer.
- ``CACHED``: an in-process copy its source has not confirmed lately: the same answer, reason CACHED.
- ``FALLBACK``: the last-known-good file (or, in the portal, any copy while the database is down): flags
  declaring ``last_known_good`` answer from it with reason STALE; the others answer by their failure mode.
- no data at all: the failure mode given by the caller for that key, else the caller's default.

A failure-mode answer is ERROR / GENERAL: ``fail_open`` → on, ``fail_closed`` and ``last_known_good`` → off;
boolean flags get that as their value, other types the caller's default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from govctl.flags.evaluation import ErrorCode, Reason, Result, State, evaluate
from govctl.flags.variants import DISABLED_VARIANT, DISABLED_VARIANT_FEATURE_ON

__all__ = ["CACHED", "FALLBACK", "FRESH", "answer", "failure_answer"]

FRESH = "fresh"
CACHED = "cached"
FALLBACK = "fallback"


def answer(state: State | None, key: str, context: Mapping[str, Any] | None, default: Any = None, *,
           freshness: str, why: str, fallback_mode: str | None = None) -> Result:
    """The answer for ``key`` from ``state`` whose freshness is ``freshness``; ``why`` explains a degraded one."""
    if state is None:
        return failure_answer(key, default, fallback_mode, None, f"{why}: no flag data")
    if freshness == FRESH:
        return evaluate(state, key, context, default)
    if freshness == CACHED:
        result = evaluate(state, key, context, default)
        return result if result.error_code else dataclasses.replace(result, reason=Reason.CACHED)
    mode = state.failure_mode(key)
    if mode == "last_known_good":
        result = evaluate(state, key, context, default)
        return result if result.error_code else dataclasses.replace(result, reason=Reason.STALE)
    if mode is None:
        return failure_answer(key, default, fallback_mode, state, f"{why}: the flag is not in the last-known-good data")
    return failure_answer(key, default, mode, state, f"{why}: answered by failure mode {mode}")


def failure_answer(key: str, default: Any, mode: str | None, state: State | None, message: str) -> Result:
    """ERROR / GENERAL by failure ``mode`` (None: the caller's default decides)."""
    if mode == "fail_open":
        enabled = True
    elif mode in ("fail_closed", "last_known_good"):
        enabled = False
    else:
        enabled = bool(default)
    value_type = state.value_type(key) if state is not None else None
    if value_type in (None, "boolean") and (default is None or isinstance(default, bool)):
        value: Any = enabled if mode else default
    else:
        value = default
    variant = DISABLED_VARIANT_FEATURE_ON if enabled else DISABLED_VARIANT
    revision = None if state is None else state.revision
    return Result(key, value, enabled, variant, Reason.ERROR, ErrorCode.GENERAL, message, revision)
