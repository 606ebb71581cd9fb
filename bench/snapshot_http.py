"""The flag snapshot endpoint over HTTP, against a bare Django view of the same size, same server.

A throwaway PostgreSQL cluster (initdb/pg_ctl) gets the portal's schema, service "shop" with FLAGS
flags (rollouts, constraints, variants) and a flags:read token. One gunicorn (2 workers x 4 threads,
gthread, DEBUG off, bench/settings_bench.py) serves:

  snapshot 200   GET /api/v1/flags/snapshot?service=shop&environment=production
  snapshot 304   the same with If-None-Match: <its ETag>
  bare 200/304   GET /bench/bare: a plain Django view returning the snapshot's bytes as a constant
  bare+auth      GET /bench/bare-auth: the constant behind the same DRF token auth/scope/throttle

wrk (Debian's, 1 thread, CONNECTIONS connections, DURATION s) loads each. Every round measures the
three targets of a path back to back (order rotated); the ratio snapshot / baseline is taken within a
round, and the median over the rounds is reported (with the best-round figures). Goal: >= 0.8 of the
bare view on both paths (exit status 1 otherwise).

Requests per second swing with whatever else runs on the machine; the server's CPU time per request
(gunicorn workers' user + system time from /proc, divided by the requests wrk counted) hardly does, so
it is printed beside them as a cross-check: baseline CPU/request ÷ snapshot CPU/request is the share of
the baseline's throughput the snapshot would reach on a CPU-bound server.

    .venv/bin/python bench/snapshot_http.py [--rounds 15] [--duration 2] [--connections 16] [--flags 60]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.flags.live_portal import Cluster, Portal, manage  # noqa: E402

SEED = textwrap.dedent("""
    from flags import services
    from flags.models import FlagState
    from governance import services as core
    from governance.models import Environment, Service

    actor = core.system_user()
    shop = Service.objects.get(slug="shop")
    production = Environment.objects.get(slug="production")
    for i in range({count}):
        flag = services.create_flag(service=shop, key=f"feature-{{i}}", actor=actor, reason="bench",
                                    value_type="string" if i % 5 == 0 else "boolean")
        state = FlagState.objects.get(flag=flag, environment=production)
        variants = [{{"name": n, "weight": 500, "stickiness": "default",
                      "payload": {{"type": "string", "value": n.upper()}}}} for n in ("red", "blue")]
        services.set_strategies(state=state, actor=actor, reason="bench", variants=variants if i % 5 == 0 else [],
            strategies=[{{"name": "flexibleRollout", "parameters": {{"rollout": str(i % 100), "stickiness": "default",
                          "groupId": f"feature-{{i}}"}},
                          "constraints": [{{"contextName": "country", "operator": "IN", "values": ["FR", "DE", "NL"]}}]}},
                         {{"name": "userWithId", "parameters": {{"userIds": ",".join(str(u) for u in range(i, i + 20))}}}}])
        services.change_state(state=state, operation="set_enabled", payload={{"enabled": True}}, actor=actor,
                              reason="bench", break_glass=True)
""")


TICK = os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(master: int) -> float:
    """User + system CPU time of gunicorn's workers so far (Linux /proc): the cost of the requests they served,
    which — unlike requests per second — barely moves when other jobs share the machine."""
    total = 0.0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of stat)
    return total

# In process (RequestFactory, no middleware, no server): what each view itself costs, best of 7 × 2,000 calls.
IN_PROCESS = textwrap.dedent("""
    import time
    from django.http import HttpResponse
    from django.test import RequestFactory
    from flags.api import views

    factory = RequestFactory()
    def request(**headers):
        return factory.get("/api/v1/flags/snapshot", {{"service": "shop", "environment": "production"}},
                           HTTP_AUTHORIZATION="Bearer {secret}", **headers)
    drf = views.FlagSnapshotApi.as_view()
    url_view = views.snapshot_view()
    first = drf(request())
    body, etag = first.content, first["ETag"]
    def bare(r):
        if r.META.get("HTTP_IF_NONE_MATCH") == etag:
            return HttpResponse(status=304)
        return HttpResponse(body, content_type="application/json")
    for path, headers in (("200", {{}}), ("304", {{"HTTP_IF_NONE_MATCH": etag}})):
        for name, view in (("bare view", bare), ("snapshot URL", url_view), ("snapshot via DRF", drf)):
            r = request(**headers)
            assert view(r).status_code == int(path)
            best = min(_timed(view, r) for _ in range(7))
            print(f"in process {{path}}: {{name:<17}} {{best * 1e6:6.1f}} µs")
""")
IN_PROCESS_HELPERS = """
import time
def _timed(view, r, n=2000):
    start = time.perf_counter()
    for _ in range(n):
        view(r)
    return (time.perf_counter() - start) / n
"""


def wrk(url: str, *, duration: int, connections: int, headers: dict[str, str],
        master: int | None = None) -> tuple[float, float]:
    """(requests per second, server CPU microseconds per request) of one wrk run."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    before = server_cpu_seconds(master) if master else 0.0
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    cpu = server_cpu_seconds(master) - before if master else 0.0
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"errors while loading {url}:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    counted = re.search(r"(\d+) requests in", out)
    assert found is not None and counted is not None, out
    return float(found.group(1)), cpu * 1e6 / max(int(counted.group(1)), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--duration", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--flags", type=int, default=60)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="gov-bench-"))
    cluster = Cluster()
    portal = None
    try:
        cluster.start()
        cluster.create_database("portal")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_bench", "DEBUG": "false",
               "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),  # production needs a signing key
               "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false",
               "REDIS_URL": "", "DATABASE_URL": cluster.url("portal"), "FLAGS_LKG_DIR": str(work / "lkg"),
               "FLAGS_THROTTLE_RATE": "100000000/min", "LOG_LEVEL": "WARNING"}
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        manage(env, "shell", "-c", SEED.format(count=args.flags))
        secret = manage(env, "create_token", "--name", "bench", "--owner", "ci-bot", "--scope", "flags:read",
                        "--reason", "benchmark").stdout.strip()
        # The bare view serves the snapshot's own bytes: fetch them once through a throwaway server.
        probe = Portal(env, workers=1, threads=1)
        snapshot = httpx.get(f"{probe.url}/api/v1/flags/snapshot", params={"service": "shop",
                             "environment": "production"}, headers={"Authorization": f"Bearer {secret}"})
        probe.stop()
        snapshot.raise_for_status()
        body_file = work / "body.json"
        body_file.write_bytes(snapshot.content)
        env["BENCH_BODY_FILE"] = str(body_file)
        print(manage({**env, "FLAGS_MEMORY_TTL_SECONDS": "3600"}, "shell", "-c",
                     IN_PROCESS_HELPERS + IN_PROCESS.format(secret=secret)).stdout.strip())
        portal = Portal(env, workers=2, threads=4)
        auth = {"Authorization": f"Bearer {secret}"}
        snap_url = f"{portal.url}/api/v1/flags/snapshot?service=shop&environment=production"
        first = httpx.get(snap_url, headers=auth)
        bare = httpx.get(f"{portal.url}/bench/bare")
        assert first.status_code == 200 and bare.status_code == 200 and len(bare.content) == len(first.content)
        etag, bare_etag = first.headers["ETag"], bare.headers["ETag"]
        assert httpx.get(snap_url, headers={**auth, "If-None-Match": etag}).status_code == 304
        targets = {
            "snapshot 200": (snap_url, auth),
            "snapshot 304": (snap_url, {**auth, "If-None-Match": etag}),
            "bare 200": (f"{portal.url}/bench/bare", {}),
            "bare 304": (f"{portal.url}/bench/bare", {"If-None-Match": bare_etag}),
            "bare+auth 200": (f"{portal.url}/bench/bare-auth", auth),
            "bare+auth 304": (f"{portal.url}/bench/bare-auth", {**auth, "If-None-Match": bare_etag}),
        }
        master = portal.process.pid
        for url, headers in targets.values():  # warm every worker and thread
            wrk(url, duration=2, connections=args.connections, headers=headers, master=master)
        # Each round measures the three targets of a path back to back (order rotated), so a ratio compares
        # runs seconds apart: the machine may be shared, and its load drifts.
        best = dict.fromkeys(targets, 0.0)
        paired: dict[str, list[float]] = {"bare 200": [], "bare 304": [], "bare+auth 200": [], "bare+auth 304": []}
        cpu_paired: dict[str, list[float]] = {name: [] for name in paired}  # baseline CPU/req ÷ snapshot CPU/req
        cpu_per_request: dict[str, list[float]] = {name: [] for name in targets}
        for round_ in range(args.rounds):
            for path in ("200", "304"):
                names = [f"snapshot {path}", f"bare {path}", f"bare+auth {path}"]
                names = names[round_ % 3:] + names[:round_ % 3]
                seen = {}
                for name in names:
                    url, headers = targets[name]
                    seen[name], cpu = wrk(url, duration=args.duration, connections=args.connections,
                                          headers=headers, master=master)
                    cpu_per_request[name].append(cpu)
                    best[name] = max(best[name], seen[name])
                for base in ("bare", "bare+auth"):
                    paired[f"{base} {path}"].append(seen[f"snapshot {path}"] / seen[f"{base} {path}"])
                    cpu_paired[f"{base} {path}"].append(cpu_per_request[f"{base} {path}"][-1]
                                                        / cpu_per_request[f"snapshot {path}"][-1])
        print(f"snapshot body: {len(first.content):,} bytes, {args.flags + 4} flags; gunicorn 2 workers x 4 threads "
              f"(gthread); wrk -t1 -c{args.connections} -d{args.duration}s x {args.rounds} rounds; "
              f"{os.cpu_count()} CPUs shared by server and load generator")
        for name, rps in best.items():
            print(f"{name:<15} {rps:>9,.0f} req/s (best round)")
        ratios = {}
        for name, values in paired.items():
            ratios[name] = statistics.median(values)
            print(f"snapshot / {name:<14} median {ratios[name]:.2f}  (rounds: {', '.join(f'{v:.2f}' for v in values)})"
                  f"  best/best {best['snapshot ' + name.split()[-1]] / best[name]:.2f}")
        print("server CPU per request (gunicorn workers' user+system time / requests; insensitive to other load):")
        for name, values in cpu_per_request.items():
            print(f"{name:<15} median {statistics.median(values):>6.0f} µs")
        cpu_ratios = {}
        for name, values in cpu_paired.items():
            cpu_ratios[name] = statistics.median(values)
            print(f"{name} CPU/req ÷ snapshot CPU/req  median {cpu_ratios[name]:.2f}  "
                  f"(rounds: {', '.join(f'{v:.2f}' for v in values)})")
        print("goal: snapshot >= 0.8 x the bare view on the 200 and 304 paths")
        print(json.dumps({"requests_per_second": best, "median_ratios": ratios, "cpu_ratios": cpu_ratios}))
        return 0 if min(ratios['bare 200'], ratios['bare 304']) >= 0.8 else 1
    finally:
        if portal is not None:
            portal.stop()
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
