"""How many flag answers each process served, by endpoint and by the layer that answered (for GET /metrics).

A Prometheus counter in the process that served the request, not a database row: counting must not write on the
hottest read path, and it must keep counting while the database is down (that is when `memory`, `lkg-file` and
`break-glass` answers matter). Several gunicorn workers and the stream process each count their own; with
`PROMETHEUS_MULTIPROC_DIR` set (scripts/run.sh sets it), prometheus_client keeps the counts in files there and
/metrics sums them over every process (observability/metrics.py). Without it (one process, tests), /metrics reads
this process's counter.
"""

from __future__ import annotations

from prometheus_client import Counter

from flags import delivery

ENDPOINTS = ("snapshot", "evaluate", "ofrep", "unleash", "stream")

SNAPSHOTS_SERVED = Counter(
    "governance_flag_snapshots_served",
    "Flag answers served (snapshot polls, server-side evaluations, OFREP, Unleash client API, stream pushes) by "
    "endpoint and the layer that answered: database, cache, memory, lkg-file (last-known-good file), break-glass.",
    ["endpoint", "source"],
)


def count(endpoint: str, snapshot: delivery.Snapshot) -> None:
    SNAPSHOTS_SERVED.labels(endpoint=endpoint, source=snapshot.source).inc()
