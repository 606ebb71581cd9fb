"""The experiment definition: Chaos Toolkit experiment JSON (chaos.ctk validates it), plus the portal's rules.

The portal's worker runs "http" and "python" providers; "process" providers are kept for `chaos run` but the
worker refuses to start a run that has one (it would run a command on the portal's machine). Python
providers are limited to the modules in PYTHON_MODULES. docs/CHAOS.md § Experiment format.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from chaos import ctk

# The portal's own probes and actions (chaos.probes) are addressed as govctl.chaos_actions, so an exported
# experiment names the same functions `chaos run` calls on a CI runner.
PORTAL_MODULE = "govctl.chaos_actions"
PYTHON_MODULES = (PORTAL_MODULE, "chaos.probes")


def activities(definition: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    hypothesis = definition.get("steady-state-hypothesis") or {}
    return ([("steady-state-hypothesis", a) for a in hypothesis.get("probes") or []]
            + [("method", a) for a in definition.get("method") or []]
            + [("rollbacks", a) for a in definition.get("rollbacks") or []])


def validate(definition: Any) -> dict[str, Any]:
    try:
        document = ctk.import_experiment(definition if isinstance(definition, dict) else {"__invalid__": definition})
    except ctk.ExperimentInvalid as exc:
        raise ValidationError({"definition": [f"{p.path}: {p.message}" for p in exc.problems]}) from None
    for where, activity in activities(document):
        provider = activity.get("provider") or {}
        if provider.get("type") == "python" and provider.get("module") not in PYTHON_MODULES:
            raise ValidationError({"definition": [f"{where} ({activity.get('name')}): python providers may use "
                                                  f"only {', '.join(PYTHON_MODULES)}."]})
    return document


def runnable_problem(definition: dict[str, Any]) -> str:
    """Why the portal's worker will not run this definition, or ""."""
    for where, activity in activities(definition):
        if (activity.get("provider") or {}).get("type") == "process":
            return f"{where} ({activity.get('name')}): process providers run only under `chaos run`"
    return ""


def validate_cron(expression: str) -> None:
    from croniter import croniter

    if not croniter.is_valid(expression):
        raise ValidationError({"schedule_cron": f"'{expression}' is not a cron expression."})
