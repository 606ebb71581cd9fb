"""Propagation of a kill switch through the flag stream, and the fallback to polling when the stream stops.

A throwaway PostgreSQL cluster gets the portal's schema, service "shop" (its built-in flags plus FLAGS
more) and tokens. On 127.0.0.1, on this machine's cores: gunicorn (2 workers x 4 threads, gthread,
DEBUG off) for the API, and two stream processes (uvicorn, flags.stream) A and B, fed by the broker
(PostgreSQL LISTEN/NOTIFY; Redis pub/sub with --redis).

Propagation: CLIENTS streaming clients in this one process (asyncio + httpx, one connection each;
CLIENTS - B_CLIENTS on A, B_CLIENTS on B). Each round engages (then disengages) kill_switch_api through
the API (POST …/changes, the service the console uses); a client has applied the change when it has read
the event and parsed it (a delta: the changed flag and the new revision and signature). Rebuilding and
verifying the snapshot (govctl's SDK does, ≈ 1 ms) is left out: a thousand of them in this one process would
measure the load generator, not the push. Figures: time from the API's 200 to
each client's apply, p50/p99/max over all rounds, per stream process (B's clients are reached through
the broker exactly like A's: the writer is gunicorn, a third process). A client may apply before the
200 reaches the bench (the commit precedes the answer): such times count as 0.
Memory per open stream: stream process A's RSS with its clients connected minus before, / connections.

Fallback: FALLBACK real SDK clients (govctl.sdk.FlagClient, poll interval POLL s) stream from B; B is
stopped. Figures: time until each client has confirmed its snapshot by a poll (≤ POLL is the goal),
whether every evaluation meanwhile answered the last-known state without an error, and the time for a
change made while B is down to reach every client by polling.

    .venv/bin/python bench/flag_push.py [--clients 1000] [--b-clients 100] [--rounds 5] [--fallback 50]
                                        [--poll 5] [--redis]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "client"))

from govctl.sdk import FlagClient  # noqa: E402

from tests.flags.live_portal import Cluster, Portal, StreamServer, manage  # noqa: E402

KEY = "kill_switch_api"
TARGET = {"service": "shop", "environment": "development"}
SIGNING = "bench-flag-push"

SEED = """
from flags import services
from governance import services as core
from governance.models import Service
for i in range({count}):
    services.create_flag(service=Service.objects.get(slug="shop"), key=f"feature-{{i}}", actor=core.system_user(),
                         reason="bench")
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Load:
    """Streaming clients in one event loop: each records when it applied each revision."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.applied: list[dict[int, float]] = []
        self.opened = 0
        self.errors: list[str] = []

    async def client(self, http: httpx.AsyncClient, url: str, index: int, ready: asyncio.Event) -> None:
        seen = self.applied[index]
        try:
            async with http.stream("GET", url + "/api/v1/flags/stream", params=TARGET,
                                   headers={"Authorization": f"Bearer {self.token}"}) as response:
                if response.status_code != 200:
                    self.errors.append(f"{response.status_code}")
                    return
                async for line in response.aiter_lines():
                    if line.startswith("data: {"):
                        body = json.loads(line[6:])  # a snapshot, or a delta with the new revision in "set"
                        revision = body.get("revision") or body.get("set", {}).get("revision")
                        if revision is not None and revision not in seen:
                            seen[revision] = time.monotonic()
                            if len(seen) == 1:
                                self.opened += 1
                                if self.opened == len(self.applied):
                                    ready.set()
        except (httpx.HTTPError, asyncio.CancelledError) as exc:
            if not isinstance(exc, asyncio.CancelledError):
                self.errors.append(f"{exc.__class__.__name__}: {exc}")


def change(portal: Portal, token: str, on: bool) -> tuple[float, int]:
    response = httpx.post(f"{portal.url}/api/v1/flags/shop/development/{KEY}/changes", timeout=30,
                          headers={"Authorization": f"Bearer {token}"},
                          json={"operation": "engage_kill_switch" if on else "disengage_kill_switch",
                                "reason": "bench: flag push"})
    answered = time.monotonic()
    if response.status_code != 200:
        raise RuntimeError(f"change refused: {response.status_code} {response.text}")
    return answered, int(response.json()["state"]["revision"])


async def propagation(args: argparse.Namespace, portal: Portal, a: StreamServer, b: StreamServer,
                      tokens: dict[str, str]) -> dict[str, object]:
    load = Load(tokens["reader"])
    load.applied = [{} for _ in range(args.clients)]
    urls = [b.url if i < args.b_clients else a.url for i in range(args.clients)]
    rss_before = rss_kib(a.process.pid)  # type: ignore[union-attr]
    ready = asyncio.Event()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30, read=None)) as http:
        tasks = []
        for i, url in enumerate(urls):
            tasks.append(asyncio.create_task(load.client(http, url, i, ready)))
            if i % 100 == 99:
                await asyncio.sleep(0.05)  # connect in waves, like a fleet rolling out
        await asyncio.wait_for(ready.wait(), 120)
        await asyncio.sleep(1)
        rss_after = rss_kib(a.process.pid)  # type: ignore[union-attr]
        opened_a = args.clients - args.b_clients
        rounds = []
        on = True
        for _ in range(args.rounds):
            answered, revision = await asyncio.to_thread(change, portal, tokens["writer"], on)
            on = not on
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(revision in seen for seen in load.applied):
                await asyncio.sleep(0.01)
            rounds.append((answered, revision))
            await asyncio.sleep(0.5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    times: dict[str, list[float]] = {"A": [], "B": []}
    missing = 0
    for i, seen in enumerate(load.applied):
        for answered, revision in rounds:
            at = next((t for r, t in seen.items() if r >= revision), None)
            if at is None:
                missing += 1
            else:
                times["B" if i < args.b_clients else "A"].append(max(0.0, at - answered))
    return {"times": times, "missing": missing, "errors": load.errors[:5], "error_count": len(load.errors),
            "rss_per_stream_kib": (rss_after - rss_before) / opened_a, "rss_before_kib": rss_before,
            "rss_after_kib": rss_after, "opened_a": opened_a}


def fallback(args: argparse.Namespace, portal: Portal, b: StreamServer, tokens: dict[str, str],
             work: Path) -> dict[str, object]:
    clients = [FlagClient(url=portal.url, stream_url=b.url, token=tokens["reader"], signing_secret=SIGNING,
                          lkg_path=work / f"lkg-{i}.json", poll_interval=args.poll, timeout=5, heartbeat=False,
                          service=TARGET["service"], environment=TARGET["environment"]) for i in range(args.fallback)]
    try:
        for client in clients:
            client.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(c.streaming for c in clients):
            time.sleep(0.05)
        expected = clients[0].is_enabled(KEY)
        stopped = time.monotonic()
        b.stop()
        polled: dict[int, float] = {}
        wrong = 0
        checks = 0
        while time.monotonic() - stopped < args.poll * 2 and len(polled) < len(clients):
            for i, client in enumerate(clients):
                result = client.evaluate(KEY)
                checks += 1
                if result.error_code is not None or result.value is not expected:
                    wrong += 1
                loaded = client._loaded
                if i not in polled and not client.streaming and loaded is not None and client.last_error is None \
                        and loaded.confirmed_at > stopped:
                    polled[i] = loaded.confirmed_at - stopped
            time.sleep(0.02)
        answered, revision = change(portal, tokens["writer"], not expected)
        applied: dict[int, float] = {}
        while time.monotonic() - answered < args.poll * 3 and len(applied) < len(clients):
            for i, client in enumerate(clients):
                if i not in applied and (client.revision or 0) >= revision:
                    applied[i] = time.monotonic() - answered
            time.sleep(0.02)
        return {"polled": list(polled.values()), "wrong": wrong, "checks": checks, "applied": list(applied.values()),
                "clients": len(clients)}
    finally:
        threads = [threading.Thread(target=c.stop) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--b-clients", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fallback", type=int, default=50)
    parser.add_argument("--poll", type=float, default=5.0, help="the fallback clients' poll interval (s)")
    parser.add_argument("--flags", type=int, default=40)
    parser.add_argument("--redis", action="store_true", help="fan out through Redis (127.0.0.1:6379/15)")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would drown the figures
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.clients + 256)), hard))

    work = Path(tempfile.mkdtemp(prefix="gov-bench-push-"))
    cluster = Cluster()
    started: list[Portal | StreamServer] = []
    try:
        cluster.start()
        cluster.create_database("portal")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "DEBUG": "false",
               "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),  # production needs a signing key
               "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false",
               "REDIS_URL": "redis://127.0.0.1:6379/15" if args.redis else "", "DATABASE_URL": cluster.url("portal"),
               "FLAGS_LKG_DIR": str(work / "lkg"), "FLAGS_THROTTLE_RATE": "100000000/min", "LOG_LEVEL": "WARNING",
               "FLAGS_SIGNING_SECRET": SIGNING, "FLAGS_STREAM_CHANNEL": f"flags_bench_{uuid.uuid4().hex[:8]}",
               "PYTHONPATH": str(ROOT / "client")}
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        manage(env, "shell", "-c", SEED.format(count=args.flags))

        def token(*scopes: str) -> str:
            flags = [arg for scope in scopes for arg in ("--scope", scope)]
            return manage(env, "create_token", "--name", "bench", "--owner", "ci-bot", "--reason", "bench",
                          *flags).stdout.strip()

        tokens = {"reader": token("flags:read"), "writer": token("flags:write", "flags:read")}
        portal = Portal(env, workers=2, threads=4)
        started.append(portal)
        a, b = StreamServer(env), StreamServer(env)
        started += [a, b]

        figures = asyncio.run(propagation(args, portal, a, b, tokens))
        times = figures["times"]
        assert isinstance(times, dict)
        every = times["A"] + times["B"]
        print(f"broker: {'redis' if args.redis else 'postgres (LISTEN/NOTIFY)'}; {args.clients} streaming clients "
              f"({figures['opened_a']} on stream process A, {args.b_clients} on B), {args.rounds} kill-switch changes "
              "through the API")
        print(f"propagation (API 200 -> client applied): p50 {statistics.median(every) * 1000:.0f} ms, "
              f"p99 {pct(every, 99) * 1000:.0f} ms, max {max(every) * 1000:.0f} ms over {len(every)} applies "
              f"(missing {figures['missing']}, stream errors {figures['error_count']} {figures['errors']})")
        for name in ("A", "B"):
            if times[name]:
                print(f"  via stream process {name}: p50 {statistics.median(times[name]) * 1000:.0f} ms, "
                      f"p99 {pct(times[name], 99) * 1000:.0f} ms ({len(times[name])} applies)")
        print(f"memory per open stream (process A): {figures['rss_per_stream_kib']:.1f} KiB "
              f"(RSS {figures['rss_before_kib']} -> {figures['rss_after_kib']} KiB for {figures['opened_a']} streams)")

        fb = fallback(args, portal, b, tokens, work)
        polled, applied = fb["polled"], fb["applied"]
        assert isinstance(polled, list) and isinstance(applied, list)
        print(f"fallback ({fb['clients']} SDK clients, poll interval {args.poll:.0f} s, stream process B stopped): "
              f"{len(polled)}/{fb['clients']} back on polling, slowest after {max(polled, default=float('nan')):.2f} s "
              f"(median {statistics.median(polled) if polled else float('nan'):.2f} s); "
              f"{fb['wrong']}/{fb['checks']} evaluations meanwhile not the last-known state; a change made with the "
              f"stream down reached {len(applied)}/{fb['clients']} by polling, slowest after "
              f"{max(applied, default=float('nan')):.2f} s")
        ok = pct(every, 99) <= 1.0 and len(polled) == fb["clients"] and max(polled, default=99) <= args.poll \
            and fb["wrong"] == 0
        print("goal (p99 <= 1 s; every client back on polling within one poll interval, serving the last state):",
              "met" if ok else "NOT met")
        return 0 if ok else 1
    finally:
        for process in reversed(started):
            process.stop()
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
