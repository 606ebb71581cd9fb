#!/usr/bin/env python
"""Backfill engine against a plain UPDATE of the whole table, and its effect on a concurrent writer.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/backfill.py [--rows 1000000]

Runs in the portal's database (migrated), on a throwaway table `bench_backfill_items` dropped at the end. Every
figure is measured in the same run, each phase on a freshly built table:

1. baseline: one `UPDATE bench_backfill_items SET new = old, counter = counter + 1` of every row;
2. the same change through the engine (1 and 2 alternate --repeat times; the ratio of the medians counts) (default knobs: 200 ms target batch), in this process like a worker;
   throughput ratio = plain time / backfill time (goal >= 0.5);
   longest batch transaction = the longest time any batch held its row locks (goal <= 250 ms);
3. a light single-row writer (one UPDATE of a random row by primary key every 5 ms) alone just before and just
   after the backfill, and during it: p99 latency ratio (goal <= 2x). The same with a writer that inserts new rows (which the backfill
   never locks) separates lock waits from the load the backfill puts on the machine.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django  # noqa: E402

django.setup()

from governance.services import system_user  # noqa: E402
from schemaplans import databases, engine, services  # noqa: E402

TABLE = "bench_backfill_items"
SQL = f"UPDATE {TABLE} SET new = old, counter = counter + 1 WHERE id >= %(lo)s AND id < %(hi)s"
WRITER_PAUSE_S = 0.005


def build(conn: psycopg.Connection[Any], rows: int) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, old integer, new integer, "
                 "counter integer NOT NULL DEFAULT 0, hits integer NOT NULL DEFAULT 0)")
    conn.execute(f"INSERT INTO {TABLE} (id, old) SELECT g, g %% 1000 FROM generate_series(1, %s) g", [rows])
    conn.execute(f"VACUUM ANALYZE {TABLE}")
    conn.execute("CHECKPOINT")


class Writer(threading.Thread):
    """One UPDATE (or INSERT) of a single row per iteration, WRITER_PAUSE_S apart; records (time, latency)."""

    def __init__(self, rows: int, mode: str) -> None:
        super().__init__(daemon=True)
        self.rows, self.mode = rows, mode
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.rng = random.Random(42)

    def run(self) -> None:
        next_id = self.rows * 10
        with databases.connect("default", application_name="bench-writer") as conn:
            while not self.stop.is_set():
                started = time.perf_counter()
                if self.mode == "update":
                    conn.execute(f"UPDATE {TABLE} SET hits = hits + 1 WHERE id = %s", [self.rng.randint(1, self.rows)])
                else:
                    next_id += 1
                    conn.execute(f"INSERT INTO {TABLE} (id, old) VALUES (%s, 1)", [next_id])
                self.samples.append((started, time.perf_counter() - started))
                time.sleep(WRITER_PAUSE_S)

    def between(self, start: float, end: float) -> list[float]:
        return [latency for at, latency in self.samples if start <= at < end]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


KNOBS: dict[str, int] = {}  # --max-batch-size etc.: defaults unless given


def backfill_run(conn: psycopg.Connection[Any], rows: int, writer: Writer | None = None, quiet_s: float = 0.0
                 ) -> tuple[float, list[float], list[float], list[float]]:
    """One engine run on a fresh table: (seconds, batch transaction durations, writer latencies without the
    backfill (before and after it), writer latencies during it)."""
    build(conn, rows)
    actor = system_user()
    backfill = services.create_backfill(name=f"bench: {TABLE}", table=TABLE, sql=SQL, actor=actor,
                                        reason="bench/backfill.py", **KNOBS)
    started_by_one = services.start_backfill(backfill=backfill, actor=actor, reason="bench/backfill.py", enqueue=False)
    if started_by_one.status == "awaiting_approval":  # production needs four eyes: a second (bench) user approves
        from django.contrib.auth import get_user_model

        second, _ = get_user_model().objects.get_or_create(username="bench-second-person",
                                                           defaults={"is_active": False})
        services.approve_backfill_start(backfill=backfill, actor=second, reason="bench/backfill.py: second person",
                                        enqueue=False)
    batches: list[float] = []
    if writer:
        writer.start()
        time.sleep(quiet_s)  # the writer alone, just before the backfill ...
    started = time.perf_counter()
    outcome = engine.run(backfill.pk, budget_s=3600, observer=lambda lo, hi, n, seconds: batches.append(seconds))
    finished = time.perf_counter()
    alone: list[float] = []
    during: list[float] = []
    if writer:
        time.sleep(quiet_s)  # ... and just after it: the machine's background load is the same for both
        writer.stop.set()
        writer.join()
        alone = writer.between(0, started) + writer.between(finished, float("inf"))
        during = writer.between(started, finished)
    if outcome.state != "done" or outcome.rows < rows:  # rows the writer inserted before the start count too
        raise SystemExit(f"backfill did not finish: {outcome}")
    counted = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE id <= %s AND counter <> 1", [rows]).fetchone()
    assert counted is not None  # an aggregate without GROUP BY returns one row
    wrong = counted[0]
    if wrong:
        raise SystemExit(f"{wrong} rows were not processed exactly once")
    return finished - started, batches, alone, during


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="plain/backfill pairs, alternated")
    parser.add_argument("--writer-seconds", type=float, default=5.0,
                        help="how long the writer runs alone before and after the backfill")
    parser.add_argument("--max-batch-size", type=int, help="override the knob's default")
    parser.add_argument("--target-batch-ms", type=int, help="override the knob's default")
    args = parser.parse_args()
    KNOBS.update({k: v for k, v in (("max_batch_size", args.max_batch_size),
                                    ("target_batch_ms", args.target_batch_ms)) if v is not None})
    with databases.connect("default", application_name="bench") as conn:
        try:
            # Alternate the baseline and the backfill: the machine's background load drifts between runs.
            plains: list[float] = []
            quiets: list[float] = []
            quiet_batches: list[float] = []
            for _ in range(args.repeat):
                build(conn, args.rows)
                started = time.perf_counter()
                conn.execute(f"UPDATE {TABLE} SET new = old, counter = counter + 1")
                plains.append(time.perf_counter() - started)
                quiet_s, batches, _, _ = backfill_run(conn, args.rows)
                quiets.append(quiet_s)
                quiet_batches += batches
            plain, quiet_s = statistics.median(plains), statistics.median(quiets)
            results = {mode: backfill_run(conn, args.rows, Writer(args.rows, mode), args.writer_seconds)
                       for mode in ("update", "insert")}
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")

    ms = 1000
    print(f"rows: {args.rows:,}   (2 cores; each phase on a fresh table)   knobs: {KNOBS or 'defaults'}")
    print(f"plain UPDATE of every row:        {plain:7.2f} s  ({args.rows / plain:,.0f} rows/s)  median of "
          f"{', '.join(f'{x:.2f}' for x in plains)}")
    print(f"backfill, default knobs:          {quiet_s:7.2f} s  ({args.rows / quiet_s:,.0f} rows/s)  median of "
          f"{', '.join(f'{x:.2f}' for x in quiets)}; {len(quiet_batches)} batches in all")
    ratio = plain / quiet_s
    print(f"  throughput ratio (backfill/plain): {ratio:.2f}   goal >= 0.5  {'ok' if ratio >= 0.5 else 'MISSED'}")
    longest = max(quiet_batches) * ms
    print(f"  longest batch transaction (all runs): {longest:.0f} ms   median {statistics.median(quiet_batches) * ms:.0f} ms"
          f"   goal <= 250 ms  {'ok' if longest <= 250 else 'MISSED'}")
    for mode, label in (("update", "writer updating random existing rows"), ("insert", "writer inserting new rows")):
        busy_s, batches, alone, during = results[mode]
        base, load = p99(alone) * ms, p99(during) * ms
        verdict = "ok" if load <= 2 * base else "MISSED"
        print(f"{label}: p99 without the backfill {base:.2f} ms ({len(alone)} writes before and after it), "
              f"during it {load:.2f} ms ({len(during)} writes); ratio {load / base:.2f}x   goal <= 2x  {verdict}")
        print(f"  backfill with this writer: {busy_s:.2f} s, ratio to plain {plain / busy_s:.2f}, "
              f"longest batch {max(batches) * ms:.0f} ms; writes slower than 50 ms: "
              f"{sum(lat > 0.05 for lat in during)} of {len(during)}")


if __name__ == "__main__":
    main()
