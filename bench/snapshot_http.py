"""The flag snapshot endpoint over HTTP, against a bare Django view of the same size, same server.

A throwaway PostgreSQL cluster (initdb/pg_ctl) gets the portal's schema, service "shop" with FLAGS
flags (rollouts, constraints, variants) and a flags:read token. One gunicorn (2 workers x 4 threads,
gthread, DEBUG off, bench/settings_bench.py) serves:

  snapshot 200   GET /api/v1/flags/snapshot?service=shop&environment=production
  snapshot 304   the same with If-None-Match: <its ETag>
  bare 200/304   GET /bench/bare: a plain Django view returning the snapshot's bytes as a constant
  bare+auth      GET /bench/bare-auth: the constant behind the same DRF token auth/scope/throttle

wrk (Debian's, 1 thread, CONNECTIONS connections, DURATION s) loads each; rounds interleave the
targets and the best round counts. Ratios are snapshot / bare; the goal is >= 0.8 on both paths.

    .venv/bin/python bench/snapshot_http.py [--rounds 3] [--duration 10] [--connections 16] [--flags 60]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
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


def wrk(url: str, *, duration: int, connections: int, headers: dict[str, str]) -> float:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"errors while loading {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
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
               "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false",
               "REDIS_URL": "", "DATABASE_URL": cluster.url("portal"), "FLAGS_LKG_DIR": str(work / "lkg"),
               "FLAGS_THROTTLE_RATE": "100000000/min", "LOG_LEVEL": "WARNING"}
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        manage(env, "shell", "-c", SEED.format(count=args.flags))
        secret = manage(env, "create_token", "--name", "bench", "--owner", "admin", "--scope", "flags:read",
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
        for url, headers in targets.values():  # warm every worker and thread
            wrk(url, duration=2, connections=args.connections, headers=headers)
        best = dict.fromkeys(targets, 0.0)
        for _ in range(args.rounds):
            for name, (url, headers) in targets.items():
                best[name] = max(best[name], wrk(url, duration=args.duration, connections=args.connections,
                                                 headers=headers))
        print(f"snapshot body: {len(first.content):,} bytes, {args.flags + 4} flags; gunicorn 2 workers x 4 threads "
              f"(gthread); wrk -t1 -c{args.connections} -d{args.duration}s, best of {args.rounds} rounds; "
              f"{os.cpu_count()} CPUs shared by server and load generator")
        for name, rps in best.items():
            print(f"{name:<15} {rps:>9,.0f} req/s")
        ratios = {path: best[f"snapshot {path}"] / best[f"bare {path}"] for path in ("200", "304")}
        for path, ratio in ratios.items():
            print(f"ratio snapshot/bare {path}: {ratio:.2f} (goal >= 0.8); snapshot/bare+auth {path}: "
                  f"{best[f'snapshot {path}'] / best[f'bare+auth {path}']:.2f}")
        print(json.dumps({"requests_per_second": best, "ratios": ratios}))
        return 0 if all(r >= 0.8 for r in ratios.values()) else 1
    finally:
        if portal is not None:
            portal.stop()
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
