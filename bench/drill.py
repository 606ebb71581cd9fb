"""Benchmark: a full restore drill (backup + manifest, restore, verify) against bare pg_dump + pg_restore.

Both run in the same process, on the same database, alternating, and the medians are compared:
    .venv/bin/python bench/drill.py [--rows 1000000] [--repeat 3]
Goal: drill / bare <= 1.5.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recovery.engine import pgtools  # noqa: E402
from recovery.engine.backup import take_backup  # noqa: E402
from recovery.engine.manifest import CHECKSUM_EXPRESSIONS, DEFAULT_CHECKSUM_ALGORITHM  # noqa: E402
from recovery.engine.restore import run_restore_drill  # noqa: E402

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
BENCH_DB = "gov_rec_bench"
BASELINE_DB = "gov_rec_bench_bare"


def recreate(name: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))


def drop(name: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def build(rows: int) -> None:
    recreate(BENCH_DB)
    with psycopg.connect(pgtools.dsn_with_database(ADMIN_DSN, BENCH_DB), autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (id integer PRIMARY KEY, name text NOT NULL, opened timestamptz NOT NULL)")
        conn.execute(
            "INSERT INTO accounts SELECT g, 'account ' || g, timestamptz '2020-01-01 00:00+00' + g * interval '1 hour'"
            " FROM generate_series(1, 10000) g"
        )
        conn.execute(
            "CREATE TABLE events (id bigint PRIMARY KEY, account_id integer NOT NULL REFERENCES accounts (id),"
            " amount numeric(12, 2) NOT NULL, happened_at timestamptz NOT NULL, score double precision,"
            " note text)"
        )
        conn.execute(
            "INSERT INTO events SELECT g, 1 + g %% 10000, (g %% 100000) / 100.0,"
            " timestamptz '2023-01-01 00:00+00' + g * interval '1 second', g / 3.0,"
            " CASE WHEN g %% 3 = 0 THEN NULL ELSE 'event ' || g END"
            " FROM generate_series(1, %s) g",
            (rows,),
        )
        conn.execute("CREATE INDEX events_account_idx ON events (account_id)")
        conn.execute("VACUUM ANALYZE")


def bare(workdir: Path) -> float:
    source = pgtools.dsn_with_database(ADMIN_DSN, BENCH_DB)
    target = pgtools.dsn_with_database(ADMIN_DSN, BASELINE_DB)
    dump = workdir / "bare.dump"
    started = time.monotonic()
    pgtools.run(
        [pgtools.find_binary("pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={source}"], timeout=3600
    )
    recreate(BASELINE_DB)
    pgtools.run([pgtools.find_binary("pg_restore"), f"--dbname={target}", str(dump)], timeout=3600)
    drop(BASELINE_DB)
    elapsed = time.monotonic() - started
    dump.unlink()
    return elapsed


def drill(workdir: Path, jobs: int, workers: int, algorithm: str) -> tuple[float, dict[str, float]]:
    started = time.monotonic()
    info = take_backup(
        dsn=pgtools.dsn_with_database(ADMIN_DSN, BENCH_DB),
        directory=workdir / "drill",
        checksum_workers=workers,
        checksum_algorithm=algorithm,
    )
    evidence = run_restore_drill(
        dump_path=Path(info.path),
        admin_dsn=ADMIN_DSN,
        shadow_prefix="gov_rec_bench",
        smoke_queries=["SELECT count(*) > 0 FROM accounts"],
        restore_jobs=jobs,
        verify_workers=workers,
    )
    elapsed = time.monotonic() - started
    if not evidence.passed:
        raise SystemExit("drill failed:\n" + evidence.report_markdown)
    phases = {f"backup.{p.name}": p.seconds for p in info.phases}
    phases.update({f"drill.{p.name}": p.seconds for p in evidence.phases})
    Path(info.path).unlink()
    Path(info.manifest_path).unlink()
    return elapsed, phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="pg_restore --jobs in the drill")
    parser.add_argument("--workers", type=int, default=2, help="parallel checksum sessions in the drill")
    parser.add_argument("--algorithm", default=DEFAULT_CHECKSUM_ALGORITHM, choices=sorted(CHECKSUM_EXPRESSIONS))
    parser.add_argument("--keep", action="store_true", help=f"keep {BENCH_DB} afterwards")
    args = parser.parse_args()

    t0 = time.monotonic()
    build(args.rows)
    print(f"built {BENCH_DB}: {args.rows} events + 10000 accounts in {time.monotonic() - t0:.1f}s")
    bare_times: list[float] = []
    drill_times: list[float] = []
    last_phases: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="gov_rec_bench_") as tmp:
            workdir = Path(tmp)
            for i in range(args.repeat):
                # Alternate the order so that neither side always runs on a warmer cache.
                order = ("bare", "drill") if i % 2 == 0 else ("drill", "bare")
                for side in order:
                    if side == "bare":
                        bare_times.append(bare(workdir))
                    else:
                        elapsed, last_phases = drill(workdir, args.jobs, args.workers, args.algorithm)
                        drill_times.append(elapsed)
                print(f"run {i + 1}: bare {bare_times[-1]:.2f}s, drill {drill_times[-1]:.2f}s")
    finally:
        drop(BASELINE_DB)
        if not args.keep:
            drop(BENCH_DB)
    b, d = statistics.median(bare_times), statistics.median(drill_times)
    print("phases of the last drill: " + ", ".join(f"{k} {v:.2f}s" for k, v in last_phases.items()))
    print(f"bare pg_dump + pg_restore: {b:.2f}s (median of {len(bare_times)})")
    print(f"checksum algorithm {args.algorithm}, pg_restore --jobs {args.jobs}, {args.workers} checksum sessions")
    print(f"full drill (backup+manifest, restore, verify): {d:.2f}s (median of {len(drill_times)})")
    print(f"ratio drill/bare: {d / b:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
