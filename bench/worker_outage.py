"""Benchmark: the django-q2 worker under its supervisor survives PostgreSQL outages under write load.

Its own throwaway PostgreSQL cluster (initdb/pg_ctl on a free port; the shared server is never touched), a migrated
portal database, `manage.py supervise_worker` running a real qcluster, a thread queuing a task every 0.1 s (each
task writes a row); PostgreSQL is stopped `--outages` times for 12-14 s each, and the seconds from PostgreSQL's
return to the first newly queued task done are measured:
    .venv/bin/python bench/worker_outage.py [--outages 3] [--json]
Goal: every outage resumed, each within --bound seconds (45).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "client"))

from tests.flags.live_portal import Cluster, manage  # noqa: E402

MAX_AGE = 15  # the supervisor's stale limit for this run (production: HEARTBEAT_MAX_AGE_SECONDS, 180)


class Receiver:
    """A real HTTP server on 127.0.0.1 standing in for the chat webhook: it keeps every alert posted to it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Load(threading.Thread):
    """Queues governance.services.record_heartbeat("load-N") every 0.1 s: each task upserts one row."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.queued: list[tuple[int, float]] = []  # (n, monotonic time queued)
        self.refused = 0
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connections
        from django_q.tasks import async_task

        n = 0
        while not self.stop.wait(0.1):
            try:
                async_task("governance.services.record_heartbeat", f"load-{n}", sync=False)
                self.queued.append((n, time.monotonic()))
                n += 1
            except Exception:  # noqa: BLE001 - the database is down: count and go on
                self.refused += 1
                connections.close_all()

    def queued_after(self, moment: float) -> int | None:
        return next((n for n, at in self.queued if at >= moment), None)


def done(names: list[str]) -> set[str]:
    from django.db import connections

    from governance.models import Heartbeat
    try:
        return set(Heartbeat.objects.filter(name__in=names).values_list("name", flat=True))
    except Exception:  # noqa: BLE001
        connections.close_all()
        return set()


def tasks_done() -> int:
    from django.db import connections

    from governance.models import Heartbeat
    try:
        return Heartbeat.objects.filter(name__startswith="load-").count()
    except Exception:  # noqa: BLE001
        connections.close_all()
        return -1


def wait_for_task_after(load: Load, moment: float, bound: float) -> float | None:
    """Seconds from `moment` until a task queued after it has run; None past the bound."""
    deadline = moment + bound
    while time.monotonic() < deadline:
        first = load.queued_after(moment)
        if first is not None and f"load-{first}" in done([f"load-{first}"]):
            return round(time.monotonic() - moment, 1)
        time.sleep(0.25)
    return None


def run(outages: int, bound: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    cluster = Cluster()
    supervisor = None
    log = cluster.dir / "supervisor.log"
    try:
        cluster.start()
        cluster.create_database("portal")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "DEBUG": "false",
               "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),  # production needs a signing key
               "REDIS_URL": "",
               "DATABASE_URL": cluster.url("portal"), "DATABASE_CONNECT_TIMEOUT": "2", "CONN_MAX_AGE": "0",
               "Q_WORKERS": "2", "HEARTBEAT_MAX_AGE_SECONDS": str(MAX_AGE), "LOG_LEVEL": "INFO",
               "PYTHONPATH": f"{ROOT / 'client'}:{ROOT}", "SECRET_KEY": secrets.token_urlsafe(50)}
        manage(env, "migrate", "--noinput")
        os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DATABASE_CONNECT_TIMEOUT",
                                              "CONN_MAX_AGE", "REDIS_URL", "DEBUG", "SECRET_KEY", "AUDIT_SIGNING_KEY")})
        os.environ["LOG_LEVEL"] = "WARNING"  # this process queues hundreds of tasks: no line per task
        import django
        django.setup()
        from governance import services as core
        from observability import services as slo_services
        from observability.models import NotificationChannel

        receiver = Receiver()
        slo_services.save_channel(channel=NotificationChannel(name="ops chat", kind="slack", url=receiver.url,
                                                              severities=["critical"]),
                                  actor=core.system_user(), reason="bench: where worker alerts go")

        with open(log, "wb") as handle:
            supervisor = subprocess.Popen(
                [sys.executable, "manage.py", "supervise_worker", "--max-age", str(MAX_AGE), "--check-every", "1",
                 "--probe-every", "2", "--settle", "3", "--grace", "5", "--backoff-max", "4"],
                cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        load = Load()
        load.start()
        started = time.monotonic()
        warm_up = wait_for_task_after(load, started, 60)
        if warm_up is None:
            raise RuntimeError(f"the worker never ran a task:\n{log.read_text()[-3000:]}")
        rows = []
        for i in range(outages):
            time.sleep(3)  # steady load before the outage
            down_for = round(rng.uniform(12, 14), 1)
            before = tasks_done()
            cluster.stop()
            time.sleep(down_for)
            cluster.start()
            back = time.monotonic()
            seconds = wait_for_task_after(load, back, bound)
            rows.append({"outage": i + 1, "down_s": down_for, "tasks_done_before": before,
                         "resumed": seconds is not None, "seconds_to_resume": seconds})
        time.sleep(3)
        load.stop.set()
        load.join()
        text = log.read_text(errors="replace")
        from django_q.models import OrmQ

        # taken by a worker that lost the database or was killed before acknowledging them (some even ran): the
        # ORM broker hands them out again after Q_RETRY (900 s), so they run at least once (tasks are idempotent)
        still_queued = sum(1 for row in OrmQ.objects.all() if row.func() == "governance.services.record_heartbeat")
        return {"outages": rows, "tasks_queued": len(load.queued), "queue_refused_while_down": load.refused,
                "tasks_done": tasks_done(), "tasks_unacknowledged": still_queued, "worker_restarts": len(re.findall(r"restarting the worker", text)),
                "restart_reasons": re.findall(r"restarting the worker \(([^;]*);", text),
                "alerts_received": [a.get("text", "")[:160] for a in receiver.received],
                "warm_up_s": warm_up, "bound_s": bound}
    finally:
        if supervisor is not None and supervisor.poll() is None:
            supervisor.send_signal(signal.SIGTERM)  # it stops the worker (one SIGTERM, then the group)
            try:
                supervisor.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(supervisor.pid, signal.SIGKILL)
        if os.environ.get("WORKER_OUTAGE_LOG"):
            Path(os.environ["WORKER_OUTAGE_LOG"]).write_text(log.read_text(errors="replace") if log.exists() else "")
        cluster.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", type=int, default=3)
    parser.add_argument("--bound", type=float, default=45.0, help="seconds within which tasks must resume")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    result = run(args.outages, args.bound, args.seed)
    if args.json:
        print(json.dumps(result))
        return
    print(f"outages: {len(result['outages'])}  tasks queued: {result['tasks_queued']}  done: {result['tasks_done']}  "
          f"unacknowledged (queued again after Q_RETRY): {result['tasks_unacknowledged']}  "
          f"refused while down: {result['queue_refused_while_down']}  worker restarts: {result['worker_restarts']} "
          f"{result['restart_reasons']}  alerts received: {len(result['alerts_received'])}")
    for row in result["outages"]:
        print(f"  outage {row['outage']}: PostgreSQL down {row['down_s']}s -> "
              + (f"tasks resumed {row['seconds_to_resume']}s after it returned" if row["resumed"]
                 else f"NOT resumed within {result['bound_s']}s"))


if __name__ == "__main__":
    main()
