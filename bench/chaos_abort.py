"""Benchmark: chaos drills stop fast and leave nothing behind.

Its own throwaway PostgreSQL (the shared server is never touched), a gunicorn portal, a uvicorn flag stream, a real
qcluster worker running the drills, a govctl SDK client (streaming) and a tiny HTTP server the drill's hypothesis
probes (the bench flips it from 200 to 500: "a probe deviates").

1. Abort latency (--aborts, default 10): a drill injects a fault and holds it; once the SDK applies the fault the
   probe starts failing (t0); measured: t0 -> the fault gone from the served snapshot AND from the SDK. Goal <= 5 s.
   (The page-burn path aborts through the same code once the check sees the burn; its detection is one check.)
2. Orphans (--kills, default 20): a drill's worker is SIGKILLed (its whole process group) mid-method; after the
   lease expires the watchdog job runs once; counted: faults still in force (orphans). Goal: 0.

    PYTHONPATH=client .venv/bin/python bench/chaos_abort.py [--aborts 10] [--kills 20] [--json]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "client"))

import httpx  # noqa: E402

from tests.flags.live_portal import Cluster, Portal, StreamServer, manage, token_maker  # noqa: E402

LEASE = 2
CHECK = 1.0  # CHAOS_CHECK_INTERVAL_SECONDS: the production default


class Probe:
    """The drill's steady state: 200 while healthy, 500 once the bench says the probe deviates."""

    def __init__(self) -> None:
        self.failing = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(500 if outer.failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as handle:
            self.process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=self.env,
                                            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def experiment(probe_url: str, hold: float) -> dict[str, Any]:
    return {
        "title": "abort bench", "description": "abort latency and orphans", "configuration": {"service": "shop", "environment": "preview"},
        "steady-state-hypothesis": {"title": "probe healthy", "probes": [
            {"type": "probe", "name": "probe answers 200", "tolerance": 200,
             "provider": {"type": "http", "url": probe_url, "method": "GET", "timeout": 5}}]},
        "method": [{"type": "action", "name": "inject", "pauses": {"after": hold}, "provider": {
            "type": "http", "url": "${portal_url}/api/v1/chaos/faults/", "method": "POST",
            "arguments": {"service": "shop", "environment": "preview", "kind": "http_errors",
                          "params": {"status": 503}, "scope": {"share": 1.0, "paths": ["/nowhere/"], "header": None},
                          "ttl_seconds": 600, "reason": "abort bench"}}}],
        "rollbacks": [{"type": "action", "name": "halt", "provider": {
            "type": "http", "url": "${portal_url}/api/v1/chaos/halt", "method": "POST",
            "arguments": {"reason": "abort bench rollback"}}}],
    }


def wait_for(condition: Any, timeout: float, step: float = 0.01) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(step)
    return None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--aborts", type=int, default=10)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    cluster = Cluster()
    lkg = Path(tempfile.mkdtemp(prefix="gov-chaos-bench-"))
    portal = stream = worker = sdk = None
    result: dict[str, Any] = {}
    try:
        cluster.start()
        cluster.create_database("portal")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "DEBUG": "false",
               "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(), "SECRET_KEY": secrets.token_urlsafe(50),
               "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false", "REDIS_URL": "",
               "DATABASE_URL": cluster.url("portal"), "CONN_MAX_AGE": "0", "FLAGS_LKG_DIR": str(lkg),
               "FLAGS_SIGNING_SECRET": secrets.token_urlsafe(32), "CHAOS_LEASE_SECONDS": str(LEASE),
               "CHAOS_CHECK_INTERVAL_SECONDS": str(CHECK), "CHAOS_MIN_BUDGET_FRACTION": "-1000",
               "CHAOS_MAX_SHARE": "1.0", "Q_WORKERS": "1", "FLAGS_STREAM_HEARTBEAT_SECONDS": "1"}
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        token = token_maker(env, "chaos abort bench")("--name", "bench", "--scope", "chaos:run", "--scope",
                                                      "chaos:read", "--scope", "flags:read")
        portal = Portal(env, workers=2)
        stream = StreamServer(env)
        env = {**env, "PORTAL_URL": portal.url}
        worker = Worker(env, lkg / "worker.log")
        worker.start()
        probe = Probe()
        api = httpx.Client(base_url=portal.url, timeout=15, headers={"Authorization": f"Bearer {token}"})
        created = api.post("/api/v1/chaos/experiments/", json={"service": "shop", "key": "abort-bench",
                                                               "definition": experiment(probe.url, 60),
                                                               "reason": "bench"})
        assert created.status_code == 201, created.text
        from govctl.sdk import FlagClient

        sdk = FlagClient(url=portal.url, stream_url=stream.url, token=token, service="shop", environment="preview",
                         poll_interval=30, lkg_path=lkg / "sdk-lkg.json", heartbeat=False)
        sdk.start()

        def snapshot_faults() -> list[Any]:
            return api.get("/api/v1/flags/snapshot", params={"service": "shop", "environment": "preview"}).json()[
                "faults"]

        def start_drill() -> int:
            response = api.post("/api/v1/chaos/runs/", json={"service": "shop", "experiment": "abort-bench",
                                                             "environment": "preview", "reason": "bench"})
            assert response.status_code == 202, response.text
            return int(response.json()["id"])

        def run_status(run_id: int) -> str:
            return str(api.get(f"/api/v1/chaos/runs/{run_id}/").json()["status"])

        latencies: list[float] = []
        snapshot_only: list[float] = []
        for _ in range(args.aborts):
            probe.failing = False
            run_id = start_drill()
            if wait_for(lambda: bool(sdk.active_faults()), 30) is None:
                run = api.get(f"/api/v1/chaos/runs/{run_id}/").json()
                raise RuntimeError(f"the SDK never applied the drill's fault: run {run['status']} {run['verdict']}; "
                                   f"served faults {snapshot_faults()}; SDK error {sdk.last_error!r} "
                                   f"stream {sdk.last_stream_error!r}")
            probe.failing = True
            t0 = time.monotonic()
            t_snap = wait_for(lambda: snapshot_faults() == [], 20)
            t_sdk = wait_for(lambda: not sdk.active_faults(), 20)
            if t_snap is None or t_sdk is None:
                raise RuntimeError("a fault outlived the abort by 20 s")
            latencies.append(max(t_snap, t_sdk) - t0)
            snapshot_only.append(t_snap - t0)
            wait_for(lambda run_id=run_id: run_status(run_id) not in ("pending", "running"), 30, 0.2)
            probe.failing = False
        result["abort_latency_s"] = {"n": len(latencies), "p50": statistics.median(latencies),
                                     "p95": pct(latencies, 0.95), "max": max(latencies),
                                     "snapshot_p50": statistics.median(snapshot_only), "check_interval_s": CHECK}

        orphans = 0
        interrupted = 0
        for _ in range(args.kills):
            run_id = start_drill()
            if wait_for(lambda: bool(snapshot_faults()), 30, 0.05) is None:
                raise RuntimeError("the drill never injected its fault")
            worker.kill()  # SIGKILL mid-method: no rollback can run in that process
            time.sleep(LEASE + 0.5)
            manage(env, "shell", "-c", "from chaos.tasks import watchdog; print(watchdog())")
            left = api.get("/api/v1/chaos/faults/").json()
            orphans += len(left)
            interrupted += run_status(run_id) == "interrupted"
            worker.start()
        result["orphans"] = {"kills": args.kills, "orphans_after_watchdog": orphans, "runs_interrupted": interrupted}
    finally:
        if sdk is not None:
            sdk.stop()
        for process in (worker, stream, portal):
            if process is not None:
                process.stop()
        cluster.destroy()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        a = result["abort_latency_s"]
        print(f"abort latency (probe deviates -> fault gone from snapshot and SDK), n={a['n']}: p50 {a['p50']:.2f} s, "
              f"p95 {a['p95']:.2f} s, max {a['max']:.2f} s (snapshot alone p50 {a['snapshot_p50']:.2f} s; "
              f"check interval {CHECK} s); goal <= 5 s: {'met' if a['max'] <= 5 else 'NOT met'}")
        o = result["orphans"]
        print(f"orphans: {o['orphans_after_watchdog']} fault(s) left after the watchdog in {o['kills']} SIGKILLs "
              f"({o['runs_interrupted']} runs marked interrupted); goal 0: "
              f"{'met' if o['orphans_after_watchdog'] == 0 else 'NOT met'}")
    return 0 if result["abort_latency_s"]["max"] <= 5 and result["orphans"]["orphans_after_watchdog"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
