"""The experiment definition: Chaos Toolkit experiment JSON, checked before it is stored.

Keys: title, description, tags, configuration, steady-state-hypothesis {title, probes: [...]}, method: [...],
rollbacks: [...]. Each activity is {"type": "action"|"probe", "name", "provider": {...}, "pauses":
{"before": s, "after": s}, "tolerance" (probes of the hypothesis)}. Provider types: "http" (url, method,
headers, arguments, timeout) and "python" (module, func, arguments). docs/CHAOS.md § Experiment format.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

PROVIDER_TYPES = ("http", "python")
MAX_ACTIVITIES = 100
MAX_PAUSE_SECONDS = 3600


def _activity(item: Any, where: str, *, needs_tolerance: bool = False) -> None:
    if not isinstance(item, dict):
        raise ValidationError({"definition": f"{where}: an activity must be an object."})
    if item.get("type") not in ("action", "probe"):
        raise ValidationError({"definition": f"{where}: type must be 'action' or 'probe'."})
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError({"definition": f"{where}: every activity needs a name."})
    provider = item.get("provider")
    if not isinstance(provider, dict) or provider.get("type") not in PROVIDER_TYPES:
        raise ValidationError({"definition": f"{where} ({name}): provider.type must be one of "
                                             f"{', '.join(PROVIDER_TYPES)}."})
    if provider["type"] == "http" and not isinstance(provider.get("url"), str):
        raise ValidationError({"definition": f"{where} ({name}): an http provider needs a url."})
    if provider["type"] == "python" and not (isinstance(provider.get("module"), str)
                                             and isinstance(provider.get("func"), str)):
        raise ValidationError({"definition": f"{where} ({name}): a python provider needs module and func."})
    if "arguments" in provider and not isinstance(provider["arguments"], dict):
        raise ValidationError({"definition": f"{where} ({name}): provider.arguments must be an object."})
    pauses = item.get("pauses", {})
    if not isinstance(pauses, dict) or any(
            k not in ("before", "after") or isinstance(v, bool) or not isinstance(v, (int, float))
            or not 0 <= v <= MAX_PAUSE_SECONDS for k, v in pauses.items()):
        raise ValidationError({"definition": f"{where} ({name}): pauses are {{before, after}} in seconds "
                                             f"(0..{MAX_PAUSE_SECONDS})."})
    if needs_tolerance and "tolerance" not in item:
        raise ValidationError({"definition": f"{where} ({name}): a hypothesis probe needs a tolerance."})


def validate(definition: Any) -> dict[str, Any]:
    if not isinstance(definition, dict):
        raise ValidationError({"definition": "Must be a Chaos Toolkit experiment (a JSON object)."})
    title = definition.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValidationError({"definition": "An experiment needs a title."})
    if not isinstance(definition.get("description", ""), str):
        raise ValidationError({"definition": "description must be a string."})
    method = definition.get("method")
    if not isinstance(method, list) or not method:
        raise ValidationError({"definition": "method must be a non-empty list of activities."})
    hypothesis = definition.get("steady-state-hypothesis")
    probes: list[Any] = []
    if hypothesis is not None:
        if not isinstance(hypothesis, dict) or not isinstance(hypothesis.get("probes", []), list):
            raise ValidationError({"definition": "steady-state-hypothesis must be {title, probes: [...]}."})
        probes = hypothesis.get("probes", [])
    rollbacks = definition.get("rollbacks", [])
    if not isinstance(rollbacks, list):
        raise ValidationError({"definition": "rollbacks must be a list."})
    if len(method) + len(probes) + len(rollbacks) > MAX_ACTIVITIES:
        raise ValidationError({"definition": f"At most {MAX_ACTIVITIES} activities."})
    for i, probe in enumerate(probes):
        _activity(probe, f"steady-state-hypothesis.probes[{i}]", needs_tolerance=True)
        if probe.get("type") != "probe":
            raise ValidationError({"definition": f"steady-state-hypothesis.probes[{i}]: must be a probe."})
    for i, item in enumerate(method):
        _activity(item, f"method[{i}]")
    for i, item in enumerate(rollbacks):
        _activity(item, f"rollbacks[{i}]")
    return definition


def validate_cron(expression: str) -> None:
    from croniter import croniter

    if not croniter.is_valid(expression):
        raise ValidationError({"schedule_cron": f"'{expression}' is not a cron expression."})
