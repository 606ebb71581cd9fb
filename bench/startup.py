"""Start-up time of `govctl` per process (issue 13: goal <= 0.05 s for `--version` and a one-file lint).

The one-file lint is timed twice: with the result cache off (every call parses, importing pglast) and with a
cache that already holds the file's result (what a pre-commit hook or an editor sees for unchanged files).

Each command runs --runs times as a fresh process, interleaved with a bare `python -c pass` (the interpreter's
own start-up, measured in the same run as the baseline). Reports the median and p90 wall time of each, and the
ratio to the baseline, so figures from different machines or loads can be compared.

    .venv/bin/python bench/startup.py [--runs 30] [--before DIR]

--before DIR times the same commands with another copy of the client (e.g. `git archive 5ecd711 client | tar -x
-C /tmp/before`, then --before /tmp/before/client) in the same interleaved run, for a before/after ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SQL = "SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\n"


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--before", type=Path, metavar="DIR", help="another client/ folder to time alongside")
    args = parser.parse_args()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "client")
    env["GOVCTL_CACHE_DIR"] = "off"
    before_env = dict(env, PYTHONPATH=str(args.before.resolve())) if args.before else None
    with tempfile.TemporaryDirectory() as tmp:
        cached_env = dict(env, GOVCTL_CACHE_DIR=str(Path(tmp) / "cache"))
        sql = Path(tmp) / "0001_note.sql"
        sql.write_text(SQL, encoding="utf-8")
        cases = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "govctl --version": [sys.executable, "-m", "govctl.cli", "--version"],
            "govctl migrations lint FILE": [sys.executable, "-m", "govctl.cli", "migrations", "lint", str(sql)],
        }
        runs = [(name, argv, env) for name, argv in cases.items()]
        # the same file again with the result cache (migration_lint/cache.py): filled once before timing
        lint_argv = cases["govctl migrations lint FILE"]
        subprocess.run(lint_argv, env=cached_env, check=True, stdout=subprocess.DEVNULL)
        runs.append(("govctl migrations lint FILE (cached)", lint_argv, cached_env))
        if before_env is not None:
            runs += [(f"{name} [before]", argv, before_env) for name, argv in cases.items() if "baseline" not in name]
        times: dict[str, list[float]] = {name: [] for name, _, _ in runs}
        for _ in range(args.runs):
            for name, argv, run_env in runs:  # interleaved: load changes hit every case alike
                times[name].append(_time(argv, run_env))
    base = statistics.median(times["python -c pass (baseline)"])
    print(f"{'command':41} {'median s':>9} {'p90 s':>7} {'× baseline':>10}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:41} {median:9.3f} {_p90(values):7.3f} {median / base:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
