"""Cost of counting one flag answer for /metrics (flags/served.py), against building the answer's HttpResponse.

Every flag answer (snapshot poll, evaluation, OFREP, Unleash, stream push) increments
`governance_flag_snapshots_served_total{endpoint,source}` once. Measured in one run, best of N rounds of
this thread's CPU time (the machine is shared):

- baseline: one `django.http.HttpResponse` with the snapshot headers (what every answer builds anyway);
- in-process counter (no PROMETHEUS_MULTIPROC_DIR: tests, a single process);
- multiprocess counter (PROMETHEUS_MULTIPROC_DIR set, as scripts/run.sh does: an mmap'd file per process),
  in a child process, because prometheus_client picks the mode when it is imported.

    .venv/bin/python bench/metrics_counter.py [--rounds 15] [--n 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, sys, time
from prometheus_client import Counter
c = Counter("bench_served", "x", ["endpoint", "source"])
n, rounds = int(sys.argv[1]), int(sys.argv[2])
best = float("inf")
for _ in range(rounds):
    start = time.thread_time()
    for _ in range(n):
        c.labels(endpoint="snapshot", source="memory").inc()
    best = min(best, time.thread_time() - start)
print(json.dumps(best / n))
"""


def _counter(n: int, rounds: int, multiprocess: bool) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    with tempfile.TemporaryDirectory() as folder:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = folder
        out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(rounds)], env=env, check=True,
                             capture_output=True, text=True).stdout
    return float(json.loads(out))


def _response(n: int, rounds: int) -> float:
    import django
    from django.conf import settings

    settings.configure(DEFAULT_CHARSET="utf-8")
    django.setup()
    from django.http import HttpResponse

    body = b"{" + b'"x": 1, ' * 4000 + b"}"  # ~35 KB, like the 64-flag snapshot of bench/snapshot_http.py
    headers = {"X-Flags-Source": "memory", "X-Flags-Revision": "42", "ETag": '"abc"'}
    best = float("inf")
    for _ in range(rounds):
        start = time.thread_time()
        for _ in range(n):
            HttpResponse(body, content_type="application/json", headers=headers)
        best = min(best, time.thread_time() - start)
    return best / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    baseline = _response(args.n, args.rounds)
    single = _counter(args.n, args.rounds, multiprocess=False)
    multi = _counter(args.n, args.rounds, multiprocess=True)
    print(f"baseline: one HttpResponse with the snapshot headers  {baseline * 1e9:8.0f} ns")
    print(f"count one answer, in-process counter                 {single * 1e9:8.0f} ns  ({single / baseline:.2f}x)")
    print(f"count one answer, multiprocess counter (run.sh)      {multi * 1e9:8.0f} ns  ({multi / baseline:.2f}x)")


if __name__ == "__main__":
    main()
