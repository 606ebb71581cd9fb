"""Keeps the django-q2 worker alive: starts `manage.py qcluster`, watches the process and the scheduler heartbeat,
and restarts it when it dies or wedges (a cluster that lost its database under load can stop taking tasks and
ignore SIGTERM, ../shared/PITFALLS.md). Run by `manage.py supervise_worker` (scripts/run.sh, the systemd unit).

- Every `check_every` seconds: has the process exited? How old is the "scheduler" heartbeat? While the database
  is unreachable nothing is judged (the worker cannot beat either).
- While the last beat is older than `probe_every`, one `governance.tasks.heartbeat` is queued as a probe (at most
  one per `probe_every`), so a worker that only missed a scheduled beat beats again before `max_age`.
- Stale: the beat is older than `max_age` (HEARTBEAT_MAX_AGE_SECONDS, the limit /readyz uses), the database has
  been reachable for `settle` seconds and the worker has run for at least `max_age`. Then an alert (observability
  ops alerts) and a restart.
- Restart: ONE SIGTERM to the main process (a second can deadlock it, django-q2#346), `grace` seconds, then
  SIGKILL to the whole process group (its worker children too). Each restart in a row waits longer (backoff),
  reset once the new worker has beaten.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connections
from django.utils import timezone

logger = logging.getLogger("governance.supervisor")


@dataclass
class Options:
    command: Sequence[str] = (sys.executable, "manage.py", "qcluster")
    max_age: float = 180.0
    check_every: float = 5.0
    probe_every: float = 90.0
    settle: float = 30.0
    grace: float = 30.0
    backoff_base: float = 1.0
    backoff_max: float = 60.0


@dataclass
class Supervisor:
    options: Options
    alert: Callable[[str, str], None] | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    in_a_row: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    _started_at: float = 0.0
    _reachable_since: float | None = None
    _last_probe: float = 0.0
    _alerted: bool = False

    # --- the worker process ---------------------------------------------------------------------------------

    def start(self) -> None:
        # Its own session and process group: a signal to the supervisor never reaches qcluster by itself, and the
        # whole group can be killed if it wedges.
        self.process = subprocess.Popen(list(self.options.command), cwd=settings.BASE_DIR, start_new_session=True)
        self._started_at = time.monotonic()
        logger.info("worker started (pid %s)", self.process.pid)

    def stop(self) -> int | None:
        """One SIGTERM to the main process, then SIGKILL to the group after the grace period; the exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.options.grace)
            except subprocess.TimeoutExpired:
                logger.error("worker (pid %s) ignored SIGTERM for %ss: killing its process group", process.pid,
                             self.options.grace)
        try:
            os.killpg(process.pid, signal.SIGKILL)  # children that outlived the main process, or all of them
        except (ProcessLookupError, PermissionError):
            pass
        code = process.wait()
        self.process = None
        return code

    def restart(self, why: str) -> None:
        code = self.stop()
        self.restarts += 1
        self.in_a_row += 1
        delay = min(self.options.backoff_base * 2 ** (self.in_a_row - 1), self.options.backoff_max)
        logger.warning("restarting the worker (%s; exit code %s; restart #%s, in %.1fs)", why, code, self.restarts,
                       delay)
        if self.stopping.wait(delay):
            return
        self.start()

    # --- the heartbeat ------------------------------------------------------------------------------------------

    def last_beat(self) -> datetime | None:
        """The scheduler heartbeat's time; raises a database error when PostgreSQL is unreachable."""
        from governance.models import Heartbeat

        return Heartbeat.objects.filter(name="scheduler").values_list("beat_at", flat=True).first()

    def probe(self) -> None:
        from django_q.tasks import async_task

        # save=False: probes must not push real task results out of the result backend's save_limit
        async_task("governance.tasks.heartbeat", sync=False, task_name="supervisor probe", save=False)

    def check(self) -> str:
        """One round; returns what it saw (for logs and tests)."""
        now = time.monotonic()
        if self.process is None:
            self.start()
            return "started"
        if self.process.poll() is not None:
            self.restart(f"the worker exited with code {self.process.returncode}")
            return "exited"
        try:
            beat = self.last_beat()
            if beat is None or (timezone.now() - beat).total_seconds() > self.options.probe_every:
                if now - self._last_probe >= self.options.probe_every:
                    self.probe()
                    self._last_probe = now
        except Exception as exc:  # noqa: BLE001 - any database error: the outage is /readyz's to report
            connections.close_all()
            if self._reachable_since is not None:
                logger.warning("database unreachable (%s): not judging the worker", exc.__class__.__name__)
            self._reachable_since = None
            return "database unreachable"
        if self._reachable_since is None:
            self._reachable_since = now
        age = (timezone.now() - beat).total_seconds() if beat else float("inf")
        if age <= self.options.max_age:
            if self.in_a_row and beat and beat.timestamp() > time.time() - (now - self._started_at):
                logger.info("worker healthy again after %s restart(s) in a row", self.in_a_row)
                self.in_a_row = 0
            self._alerted = False
            return "fresh"
        if now - self._reachable_since < self.options.settle or now - self._started_at < self.options.max_age:
            return "waiting"
        text = (f"The scheduler heartbeat is {'missing' if beat is None else f'{int(age)}s old'} (limit "
                f"{int(self.options.max_age)}s) with the database up: the django-q2 worker is stuck. "
                "The supervisor restarts it; see docs/RUNBOOK.md, 'The worker is stuck'.")
        if not self._alerted and self.alert is not None:
            self.alert("django-q2 worker heartbeat stale", text)
            self._alerted = True
        self.restart(f"heartbeat stale: {'none' if beat is None else f'{int(age)}s old'}")
        return "stale"

    def run(self) -> int:
        self.start()
        while not self.stopping.wait(self.options.check_every):
            self.check()
        code = self.stop()
        logger.info("supervisor stopped (worker exit code %s)", code)
        return 0
