"""Chaos Toolkit experiment JSON: validation, import/export, the run-status vocabulary, the real ``chaos run``.

The portal stores an experiment's definition AS a Chaos Toolkit experiment document (title, description, tags,
configuration, secrets, extensions, steady-state-hypothesis, method, rollbacks), so import is validation plus a
normalised copy and export adds what the ``chaos`` CLI needs to reach the portal (its URL and token from the
environment). No Django import here: the import API turns :class:`ExperimentInvalid` into a 400 whose body lists
``{"path": "$.method[1].provider.url", "message": …}`` problems.

Portal faults are plain CTK actions (:func:`fault_action`): an HTTP provider POSTing the fault to
``/api/v1/chaos/faults/``; the rollback (:func:`halt_rollback`) POSTs ``/api/v1/chaos/halt``.

Run statuses are Chaos Toolkit's: pending, running, completed, failed, aborted, interrupted, plus ``deviated``
when the steady-state hypothesis held before the method and not after it (:func:`verdict_from_journal`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import numbers
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaos.tolerance import tolerance_problem

PENDING, RUNNING = "pending", "running"
COMPLETED, FAILED, ABORTED, INTERRUPTED, DEVIATED = "completed", "failed", "aborted", "interrupted", "deviated"
STATUSES = (PENDING, RUNNING, COMPLETED, FAILED, ABORTED, INTERRUPTED, DEVIATED)
FINAL_STATUSES = (COMPLETED, FAILED, ABORTED, INTERRUPTED, DEVIATED)
PROVIDER_TYPES = ("http", "python", "process")
ACTIVITY_TYPES = ("probe", "action")
FAULTS_PATH = "/api/v1/chaos/faults/"
HALT_PATH = "/api/v1/chaos/halt"
PORTAL_URL_ENV, PORTAL_TOKEN_ENV = "GOVERNANCE_URL", "GOVERNANCE_TOKEN"
KNOWN_KEYS = {"version", "title", "description", "tags", "contributions", "configuration", "secrets", "extensions",
              "controls", "steady-state-hypothesis", "method", "rollbacks", "runtime"}


@dataclasses.dataclass(frozen=True)
class Problem:
    path: str  # a JSONPath-like location: $.method[2].pauses.after
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class ExperimentInvalid(ValueError):
    """The document is not a valid Chaos Toolkit experiment; ``problems`` names each JSON path."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))

    def as_dict(self) -> dict[str, Any]:
        return {"code": "invalid_experiment", "problems": [p.as_dict() for p in self.problems]}


# -- validation ---------------------------------------------------------------------------------------------


def validate(document: Any) -> list[Problem]:
    """Every problem of ``document`` as a Chaos Toolkit experiment (empty when valid)."""
    problems: list[Problem] = []

    def bad(path: str, message: str) -> None:
        problems.append(Problem(path, message))

    if not isinstance(document, Mapping):
        return [Problem("$", "an experiment must be a JSON object")]
    for key in ("title", "description"):
        if not isinstance(document.get(key), str) or not document[key].strip():
            bad(f"$.{key}", "required, a non-empty string")
    tags = document.get("tags", [])
    if not isinstance(tags, list):
        bad("$.tags", "must be a list of strings")
    else:
        for i, tag in enumerate(tags):
            if not isinstance(tag, str) or not tag:
                bad(f"$.tags[{i}]", "must be a non-empty string")
    _validate_configuration(document.get("configuration", {}), bad)
    _validate_secrets(document.get("secrets", {}), bad)
    names: set[str] = set()
    hypothesis = document.get("steady-state-hypothesis")
    if hypothesis is not None:
        path = "$.steady-state-hypothesis"
        if not isinstance(hypothesis, Mapping):
            bad(path, "must be an object with a title and probes")
        else:
            if not isinstance(hypothesis.get("title"), str) or not hypothesis["title"].strip():
                bad(f"{path}.title", "required, a non-empty string")
            probes = hypothesis.get("probes", [])
            if not isinstance(probes, list):
                bad(f"{path}.probes", "must be a list of probes")
            else:
                for i, probe in enumerate(probes):
                    _validate_activity(probe, f"{path}.probes[{i}]", bad, names, in_hypothesis=True)
    method = document.get("method")
    if method is None:
        bad("$.method", "required (an empty list only checks the steady-state hypothesis)")
    elif not isinstance(method, list):
        bad("$.method", "must be a list of activities")
    else:
        for i, activity in enumerate(method):
            _validate_activity(activity, f"$.method[{i}]", bad, names)
    rollbacks = document.get("rollbacks", [])
    if not isinstance(rollbacks, list):
        bad("$.rollbacks", "must be a list of actions")
    else:
        for i, activity in enumerate(rollbacks):
            _validate_activity(activity, f"$.rollbacks[{i}]", bad, names)
    _validate_refs(document, names, bad)
    return problems


def _validate_configuration(configuration: Any, bad: Any) -> None:
    if not isinstance(configuration, Mapping):
        bad("$.configuration", "must be an object")
        return
    for key, value in configuration.items():
        if isinstance(value, Mapping) and value.get("type") == "env":
            if not isinstance(value.get("key"), str) or not value["key"]:
                bad(f"$.configuration.{key}.key", "an env configuration value needs the variable's name")
        elif isinstance(value, Mapping) and "type" in value and value["type"] not in ("env",):
            bad(f"$.configuration.{key}.type", f"unsupported configuration type {value['type']!r} (use 'env')")


def _validate_secrets(secrets: Any, bad: Any) -> None:
    if not isinstance(secrets, Mapping):
        bad("$.secrets", "must be an object of scopes")
        return
    for scope, entries in secrets.items():
        if not isinstance(entries, Mapping):
            bad(f"$.secrets.{scope}", "must be an object of secret names")
            continue
        for name, value in entries.items():
            if isinstance(value, Mapping):
                if value.get("type") not in ("env", "vault"):
                    bad(f"$.secrets.{scope}.{name}.type", "a secret reference is of type 'env' or 'vault'")
                elif value.get("type") == "env" and not value.get("key"):
                    bad(f"$.secrets.{scope}.{name}.key", "an env secret needs the variable's name")
            elif not isinstance(value, str):
                bad(f"$.secrets.{scope}.{name}", "must be a string or a reference {type: env, key}")


def _validate_pause(value: Any, path: str, bad: Any) -> None:
    if isinstance(value, bool) or not (isinstance(value, numbers.Number) or
                                       (isinstance(value, str) and value.startswith("${") and value.endswith("}"))):
        bad(path, "a pause is a number of seconds (or a ${configuration} reference)")
    elif isinstance(value, numbers.Real) and value < 0:
        bad(path, "a pause cannot be negative")


def _validate_activity(activity: Any, path: str, bad: Any, names: set[str], *, in_hypothesis: bool = False) -> None:
    if not isinstance(activity, Mapping) or not activity:
        bad(path, "an activity must be a non-empty object")
        return
    if "ref" in activity and "type" not in activity:
        if not isinstance(activity["ref"], str) or not activity["ref"]:
            bad(f"{path}.ref", "a reference names an activity declared earlier")
        return
    if activity.get("type") not in ACTIVITY_TYPES:
        bad(f"{path}.type", "required, one of probe, action")
    elif in_hypothesis and activity["type"] != "probe":
        bad(f"{path}.type", "the steady-state hypothesis holds probes only")
    name = activity.get("name")
    if not isinstance(name, str) or not name:
        bad(f"{path}.name", "required, a non-empty string")
    else:
        names.add(name)
    if "timeout" in activity and (isinstance(activity["timeout"], bool)
                                  or not isinstance(activity["timeout"], numbers.Number)):
        bad(f"{path}.timeout", "must be a number of seconds")
    if "background" in activity and not isinstance(activity["background"], bool):
        bad(f"{path}.background", "must be true or false")
    pauses = activity.get("pauses")
    if pauses is not None:
        if not isinstance(pauses, Mapping):
            bad(f"{path}.pauses", "must be an object {before?, after?}")
        else:
            for when in ("before", "after"):
                if when in pauses:
                    _validate_pause(pauses[when], f"{path}.pauses.{when}", bad)
            for extra in set(pauses) - {"before", "after"}:
                bad(f"{path}.pauses.{extra}", "unknown pause (before or after)")
    if in_hypothesis:
        if "tolerance" not in activity:
            bad(f"{path}.tolerance", "a hypothesis probe needs a tolerance")
        else:
            problem = tolerance_problem(activity["tolerance"])
            if problem:
                bad(f"{path}.tolerance", problem)
    _validate_provider(activity.get("provider"), f"{path}.provider", bad)


def _validate_provider(provider: Any, path: str, bad: Any) -> None:
    if not isinstance(provider, Mapping):
        bad(path, "required, an object with a type (http, python or process)")
        return
    kind = provider.get("type")
    if kind not in PROVIDER_TYPES:
        bad(f"{path}.type", f"required, one of {', '.join(PROVIDER_TYPES)}")
        return
    if kind == "http":
        if not isinstance(provider.get("url"), str) or not provider["url"]:
            bad(f"{path}.url", "an HTTP provider needs a URL")
        if "headers" in provider and not isinstance(provider["headers"], Mapping):
            bad(f"{path}.headers", "must be an object")
        if "method" in provider and not isinstance(provider["method"], str):
            bad(f"{path}.method", "must be an HTTP method name")
        if "expected_status" in provider and not isinstance(provider["expected_status"], int):
            bad(f"{path}.expected_status", "must be an integer")
    elif kind == "python":
        for key in ("module", "func"):
            if not isinstance(provider.get(key), str) or not provider[key]:
                bad(f"{path}.{key}", f"a Python provider needs '{key}'")
        if "arguments" in provider and not isinstance(provider["arguments"], Mapping):
            bad(f"{path}.arguments", "must be an object of keyword arguments")
    else:
        if not isinstance(provider.get("path"), str) or not provider["path"]:
            bad(f"{path}.path", "a process provider needs the executable's path")
        arguments = provider.get("arguments")
        if arguments is not None and not isinstance(arguments, str | list):
            bad(f"{path}.arguments", "must be a string or a list of strings")


def _validate_refs(document: Mapping[str, Any], names: set[str], bad: Any) -> None:
    for section in ("method", "rollbacks"):
        activities = document.get(section)
        if not isinstance(activities, list):
            continue
        for i, activity in enumerate(activities):
            if isinstance(activity, Mapping) and "ref" in activity and "type" not in activity \
                    and isinstance(activity["ref"], str) and activity["ref"] not in names:
                bad(f"$.{section}[{i}].ref", f"no activity is named {activity['ref']!r}")


# -- import / export ----------------------------------------------------------------------------------------


def import_experiment(source: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """A validated, normalised copy of a Chaos Toolkit experiment (JSON text or an already parsed object)."""
    if isinstance(source, str | bytes):
        try:
            document = json.loads(source)
        except ValueError as exc:
            raise ExperimentInvalid([Problem("$", f"not JSON: {exc}")]) from None
    else:
        document = copy.deepcopy(dict(source))
    problems = validate(document)
    if problems:
        raise ExperimentInvalid(problems)
    document.setdefault("tags", [])
    document.setdefault("rollbacks", [])
    return dict(document)


def uses_portal(document: Mapping[str, Any]) -> bool:
    """Whether an activity reaches the portal through the ${portal_url} configuration value."""
    return "${portal_url}" in json.dumps(document)


def export_experiment(definition: Mapping[str, Any], *, portal_url: str | None = None) -> dict[str, Any]:
    """The experiment as a ``chaos run`` document: valid, with the portal's URL and token wired in when its
    activities reach the portal (URL from ``portal_url`` or $GOVERNANCE_URL, token from $GOVERNANCE_TOKEN)."""
    document = import_experiment(definition)
    document.setdefault("version", "1.0.0")
    if uses_portal(document):
        configuration = dict(document.get("configuration") or {})
        configuration.setdefault("portal_url", portal_url.rstrip("/") if portal_url else
                                 {"type": "env", "key": PORTAL_URL_ENV})
        document["configuration"] = configuration
        secrets = dict(document.get("secrets") or {})
        secrets.setdefault("portal", {"token": {"type": "env", "key": PORTAL_TOKEN_ENV}})
        document["secrets"] = secrets
    return document


def export_json(definition: Mapping[str, Any], *, portal_url: str | None = None) -> str:
    return json.dumps(export_experiment(definition, portal_url=portal_url), indent=2, sort_keys=True) + "\n"


def _portal_headers() -> dict[str, str]:
    return {"Authorization": "Bearer ${token}", "Content-Type": "application/json", "Accept": "application/json"}


def fault_action(*, name: str, service: str, environment: str, kind: str, params: Mapping[str, Any],
                 scope: Mapping[str, Any] | None = None, ttl_seconds: int = 300, reason: str,
                 pause_after: float | None = None) -> dict[str, Any]:
    """A CTK action that injects one portal fault (POST /api/v1/chaos/faults/)."""
    action: dict[str, Any] = {
        "type": "action", "name": name,
        "provider": {"type": "http", "url": "${portal_url}" + FAULTS_PATH, "method": "POST",
                     "headers": _portal_headers(), "expected_status": 201, "secrets": ["portal"],
                     "arguments": {"service": service, "environment": environment, "kind": kind,
                                   "params": dict(params), "scope": dict(scope or {"share": 1.0, "paths": [],
                                                                                  "header": None}),
                                   "ttl_seconds": ttl_seconds, "reason": reason}},
    }
    if pause_after:
        action["pauses"] = {"after": pause_after}
    return action


def halt_rollback(*, reason: str, name: str = "halt-all-faults") -> dict[str, Any]:
    """A CTK rollback that removes every active fault (POST /api/v1/chaos/halt)."""
    return {"type": "action", "name": name,
            "provider": {"type": "http", "url": "${portal_url}" + HALT_PATH, "method": "POST",
                         "headers": _portal_headers(), "secrets": ["portal"], "arguments": {"reason": reason}}}


def http_probe(*, name: str, url: str, tolerance: Any, method: str = "GET", timeout: float = 5) -> dict[str, Any]:
    return {"type": "probe", "name": name, "tolerance": tolerance,
            "provider": {"type": "http", "url": url, "method": method, "timeout": timeout}}


# -- run statuses -------------------------------------------------------------------------------------------


def verdict_from_journal(journal: Mapping[str, Any]) -> str:
    """The run's status from a Chaos Toolkit journal, as ``chaos run`` reports it: ``deviated`` when the
    hypothesis did not hold after the method, else the journal's status (completed, failed, aborted,
    interrupted)."""
    if journal.get("deviated"):
        return DEVIATED
    status = journal.get("status")
    return status if status in FINAL_STATUSES else FAILED


def verdict_of(*, before_ok: bool | None, method_ok: bool, after_ok: bool | None,
               aborted: bool = False, interrupted: bool = False) -> str:
    """The portal's verdict with the same rules: a hypothesis that fails BEFORE the method is not a deviation
    (nothing was injected yet; CTK calls it completed, or failed when a probe errored: we say failed); one that
    fails AFTER is ``deviated``; an abort or an interruption wins over both."""
    if interrupted:
        return INTERRUPTED
    if aborted:
        return ABORTED
    if before_ok is False or not method_ok:
        return FAILED
    if after_ok is False:
        return DEVIATED
    return COMPLETED


def replay_verdict(journal: Mapping[str, Any], *, probe_runner: Any = None) -> str:
    """The verdict OUR semantics give on the probe outputs a Chaos Toolkit journal recorded: chaos.tolerance on
    each hypothesis probe's output, then :func:`verdict_of`. Compare it with :func:`verdict_from_journal`."""
    from chaos.tolerance import ToleranceError, within_tolerance

    def holds(state: Mapping[str, Any] | None) -> bool | None:
        if state is None:
            return None
        for run in state.get("probes") or []:
            if run.get("status") != "succeeded":
                return False
            try:
                if not within_tolerance(run["activity"].get("tolerance"), run.get("output"),
                                        probe_runner=probe_runner):
                    return False
            except ToleranceError:
                return False
        return True

    steady = journal.get("steady_states") or {}
    method_ok = all(run.get("status") == "succeeded" for run in journal.get("run") or [])
    status = journal.get("status")
    return verdict_of(before_ok=holds(steady.get("before")), method_ok=method_ok, after_ok=holds(steady.get("after")),
                      aborted=status == ABORTED, interrupted=status == INTERRUPTED)


@dataclasses.dataclass(frozen=True)
class CliRun:
    verdict: str
    journal: dict[str, Any]
    returncode: int
    output: str


def run_with_chaos_cli(experiment: Mapping[str, Any], *, env: Mapping[str, str] | None = None,
                       timeout: float = 300, workdir: str | os.PathLike[str] | None = None) -> CliRun:
    """Run ``experiment`` with the real ``chaos run`` CLI (the one installed next to this interpreter) and
    read the verdict from its journal. ``env`` is added to this process's environment (GOVERNANCE_URL…)."""
    chaos = Path(sys.executable).with_name("chaos")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        experiment_file, journal_file = Path(tmp) / "experiment.json", Path(tmp) / "journal.json"
        experiment_file.write_text(json.dumps(experiment), encoding="utf-8")
        completed = subprocess.run(
            [str(chaos) if chaos.exists() else "chaos", "--no-version-check", "--log-file", str(Path(tmp) / "chaos.log"),
             "run", "--no-verify-tls", "--journal-path", str(journal_file), str(experiment_file)],
            env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout, cwd=tmp,
        )
        output = completed.stdout + completed.stderr
        if not journal_file.exists():
            raise RuntimeError(f"chaos run wrote no journal (exit {completed.returncode}): {output[-2000:]}")
        journal = json.loads(journal_file.read_text(encoding="utf-8"))
    return CliRun(verdict_from_journal(journal), journal, completed.returncode, output)
