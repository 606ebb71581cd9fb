"""The run engine: one drill, executed by a django-q2 worker (chaos.tasks.execute_run).

Order (Chaos Toolkit's, with the portal's safety rules):
1. pre-conditions (chaos.preconditions) — refused: `failed`, nothing injected;
2. steady-state hypothesis before — not met: `failed`, nothing injected;
3. method: each activity with its pauses; every CHAOS_CHECK_INTERVAL_SECONDS (during pauses and between
   activities) the hypothesis probes and the SLO's page-fast burn rate are checked, the worker's lease is
   renewed, and a halt (the run's faults removed by someone else) is noticed: any of these aborts the run
   at once (its faults are removed first, then the rest);
4. rollbacks — ALWAYS (after success, failure, abort, an exception, SIGTERM); then every fault of the run
   still in force is removed (`services.finish_run`); a SIGKILLed worker stops renewing its lease and the
   watchdog does the same within a minute;
5. steady-state hypothesis after (re-checked after rollback) — not met: `deviated`.

Portal fault actions are Chaos Toolkit http actions on ${portal_url}/api/v1/chaos/faults/ (chaos.ctk): the
worker runs them in-process as faults of this run, on the run's service and environment; a rollback on
/api/v1/chaos/halt or DELETE /api/v1/chaos/faults/… removes this run's faults (not other drills').
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from chaos import ctk, definitions, preconditions, probes, services
from chaos.models import Fault, Run, RunStatus
from chaos.tolerance import within_tolerance

log = logging.getLogger("chaos.engine")
PORTAL_URL = "${portal_url}"
MAX_RECORDED = 200  # continuous checks recorded per phase (a deviation is always recorded)


class Aborted(Exception):
    """The hypothesis deviated, the page burn rate was crossed, or someone halted the drill."""


def _now() -> str:
    return timezone.now().isoformat()


def _configuration(definition: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in (definition.get("configuration") or {}).items():
        if isinstance(value, dict) and value.get("type") == "env":
            value = os.environ.get(str(value.get("key")), value.get("default"))
        values[name] = value
    if not values.get("portal_url"):
        values["portal_url"] = settings.PORTAL_URL.rstrip("/")
    return values


class Engine:
    def __init__(self, run: Run, actor: Any) -> None:
        self.run = run
        self.actor = actor
        self.definition = run.definition
        self.configuration = _configuration(self.definition)
        self.phases: list[dict[str, Any]] = []
        self.hypothesis = (self.definition.get("steady-state-hypothesis") or {}).get("probes") or []
        self.injected: list[int] = []
        self.last_check = 0.0
        self.aborted_at: float | None = None

    # --- phases ------------------------------------------------------------------------------------
    def _phase(self, name: str) -> dict[str, Any]:
        phase: dict[str, Any] = {"name": name, "status": "running", "started_at": _now(), "ended_at": None, "probes": [],
                 "detail": ""}
        self.phases.append(phase)
        return phase

    def _close(self, phase: dict[str, Any], status: str, detail: str = "") -> None:
        phase.update(status=status, ended_at=_now(), detail=detail or phase.get("detail", ""))
        services.record_phases(run=self.run, phases=self.phases, actor=self.actor)

    # --- activities ---------------------------------------------------------------------------------
    def _portal_path(self, provider: dict[str, Any]) -> str | None:
        url = str(provider.get("url", ""))
        if url.startswith(PORTAL_URL):
            return url[len(PORTAL_URL):]
        return None

    def _remove_own(self, why: str) -> int:
        removed = services.remove_faults(faults=Fault.objects.filter(run=self.run), actor=self.actor,
                                         reason=f"chaos run #{self.run.pk}: {why}")
        return len(removed)

    def activity(self, activity: dict[str, Any]) -> Any:
        provider = activity.get("provider") or {}
        if provider.get("type") == "http":
            path = self._portal_path(provider)
            method = str(provider.get("method", "GET")).upper()
            if path is not None and urlsplit(path).path.rstrip("/") == ctk.FAULTS_PATH.rstrip("/") and method == "POST":
                return self._inject(dict(provider.get("arguments") or {}), activity)
            if path is not None and (urlsplit(path).path.rstrip("/") == ctk.HALT_PATH
                                     or (method == "DELETE" and path.startswith(ctk.FAULTS_PATH))):
                return {"status": 200, "body": {"removed": self._remove_own(f"rollback '{activity.get('name')}'")}}
            return probes.http_call(probes.substitute(provider, self.configuration))
        if provider.get("type") == "python":
            return probes.python_call(probes.substitute(provider, self.configuration))
        raise ValueError(f"the portal's worker does not run {provider.get('type')!r} providers")

    def _inject(self, arguments: dict[str, Any], activity: dict[str, Any]) -> dict[str, Any]:
        ttl = arguments.get("ttl_seconds", 300)
        fault = services.create_fault(
            service=self.run.service, environment=self.run.environment, kind=str(arguments.get("kind")),
            params=arguments.get("params"), scope=arguments.get("scope"), ttl_seconds=ttl, actor=self.actor,
            reason=f"chaos run #{self.run.pk}: {activity.get('name')}", run=self.run)
        self.injected.append(fault.pk)
        return {"status": 201, "body": {"id": fault.pk, "expires_at": fault.expires_at.isoformat()}}

    def probe(self, probe: dict[str, Any]) -> dict[str, Any]:
        tolerance = probe.get("tolerance")
        try:
            value = self.activity(probe)
            ok = within_tolerance(tolerance, value, configuration=self.configuration)
        except Exception as exc:  # a probe that errors does not hold
            value, ok = f"error: {exc.__class__.__name__}: {exc}", False
        if isinstance(value, dict) and "headers" in value:
            value = {k: v for k, v in value.items() if k != "headers"}
        return {"name": probe.get("name"), "value": value, "tolerance": tolerance, "ok": bool(ok), "at": _now()}

    def check_hypothesis(self, phase: dict[str, Any]) -> bool:
        results = [self.probe(p) for p in self.hypothesis]
        phase["probes"].extend(results)
        return all(r["ok"] for r in results)

    # --- continuous checks --------------------------------------------------------------------------
    def guard(self, phase: dict[str, Any], *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_check < settings.CHAOS_CHECK_INTERVAL_SECONDS:
            return
        self.last_check = now
        services.renew_lease(run=self.run)
        if self.injected and Fault.objects.filter(pk__in=self.injected, removed_at__isnull=False).exclude(
                removal_reason__startswith=f"chaos run #{self.run.pk}:").exists():
            raise Aborted("halted: a fault of this run was removed from outside (halt all or an operator)")
        for result in (self.probe(p) for p in self.hypothesis):
            result["continuous"] = True
            if len(phase["probes"]) < MAX_RECORDED or not result["ok"]:
                phase["probes"].append(result)
            if not result["ok"]:
                raise Aborted(f"probe '{result['name']}' deviated during the method: {result['value']!r}")
        if probes.page_burn_firing(self.run.service.slug, self.run.environment.slug):
            phase["probes"].append({"name": "page-fast burn rate", "value": True, "tolerance": False, "ok": False,
                                    "at": _now()})
            raise Aborted("the SLO's page-fast burn rate was crossed")

    def pause(self, seconds: float, phase: dict[str, Any]) -> None:
        end = time.monotonic() + float(seconds)
        while True:
            self.guard(phase)
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, settings.CHAOS_CHECK_INTERVAL_SECONDS))

    def method(self) -> None:
        phase = self._phase("method")
        try:
            for activity in self.definition.get("method") or []:
                pauses = activity.get("pauses") or {}
                if pauses.get("before"):
                    self.pause(pauses["before"], phase)
                value = self.activity(activity)
                if isinstance(value, dict) and "headers" in value:
                    value = {k: v for k, v in value.items() if k != "headers"}
                phase["probes"].append({"name": activity.get("name"), "value": value, "tolerance": None, "ok": True,
                                        "at": _now(), "type": activity.get("type")})
                self.guard(phase, force=True)
                if pauses.get("after"):
                    self.pause(pauses["after"], phase)
        except Aborted as exc:
            self.aborted_at = time.monotonic()
            self._remove_own(f"aborted: {exc}")  # first: the faults go before anything is written
            self._close(phase, "aborted", str(exc))
            raise
        except BaseException as exc:
            self._close(phase, "failed", f"{exc.__class__.__name__}: {exc}")
            raise
        self._close(phase, "completed")

    def rollbacks(self) -> None:
        phase = self._phase("rollbacks")
        problems = []
        for activity in self.definition.get("rollbacks") or []:
            try:
                value = self.activity(activity)
                phase["probes"].append({"name": activity.get("name"), "value": value, "tolerance": None, "ok": True,
                                        "at": _now(), "type": "action"})
            except Exception as exc:  # every rollback runs, whatever the previous one did
                problems.append(f"{activity.get('name')}: {exc}")
                phase["probes"].append({"name": activity.get("name"), "value": f"error: {exc}", "tolerance": None,
                                        "ok": False, "at": _now(), "type": "action"})
        removed = self._remove_own("rollback: every fault of the run removed")
        self._close(phase, "failed" if problems else "completed",
                    "; ".join(problems) or f"{removed} fault(s) still in force removed")

    # --- the run ------------------------------------------------------------------------------------
    def go(self) -> Run:
        status, verdict = RunStatus.FAILED, ""
        injected_phase_reached = False
        try:
            phase = self._phase("pre-conditions")
            phase["probes"] = preconditions.check(self.run.service, self.run.environment)
            problem = definitions.runnable_problem(self.definition)
            refused = [p["value"] for p in phase["probes"] if not p["ok"]] + ([problem] if problem else [])
            self._close(phase, "failed" if refused else "completed", "; ".join(refused))
            if refused:
                return self._finish(RunStatus.FAILED, f"pre-conditions not met: {'; '.join(refused)}")
            phase = self._phase("hypothesis before")
            held = self.check_hypothesis(phase)
            self._close(phase, "completed" if held else "failed")
            if not held:
                return self._finish(RunStatus.FAILED, "the steady-state hypothesis did not hold before the method")
            injected_phase_reached = True
            self.method()
            status, verdict = RunStatus.COMPLETED, "the steady-state hypothesis held"
        except Aborted as exc:
            status, verdict = RunStatus.ABORTED, f"aborted: {exc}"
        except (KeyboardInterrupt, SystemExit) as exc:
            status, verdict = RunStatus.INTERRUPTED, f"interrupted ({exc.__class__.__name__})"
        except Exception as exc:
            log.exception("chaos: run #%s failed", self.run.pk)
            status, verdict = RunStatus.FAILED, f"failed: {exc.__class__.__name__}: {exc}"
        finally:
            if injected_phase_reached:
                self.rollbacks()
        phase = self._phase("hypothesis after")
        held = self.check_hypothesis(phase)
        self._close(phase, "completed" if held else "deviated")
        if status == RunStatus.COMPLETED and not held:
            status, verdict = RunStatus.DEVIATED, "the steady-state hypothesis did not hold after the method"
        return self._finish(status, verdict)

    def _finish(self, status: str, verdict: str) -> Run:
        return services.finish_run(run=self.run, status=status, verdict=verdict, phases=self.phases, actor=self.actor)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute(run_id: int, *, worker: str | None = None) -> str:
    from governance.services import system_user

    actor = system_user()
    run = services.claim_run(run_id=run_id, worker=worker or worker_name(), actor=actor)
    if run is None:
        return f"run #{run_id} is not pending"
    finished = Engine(run, actor).go()
    return f"run #{run_id}: {finished.status}"
