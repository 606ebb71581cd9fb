"""The throwaway shadow database: create it and pg_restore the backup into it, then drop it.

These are the steps that change the server; verification (verify.py) only reads the shadow copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql

from recovery.engine import pgtools
from recovery.engine.evidence import FAIL, PASS, Verdict
from recovery.engine.restore.plan import _Deadline


def _drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        # FORCE ends sessions still attached (pg_restore workers after a kill, a tamper hook's leftovers).
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_exists(admin_dsn: str, name: str) -> bool:
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _restore(
    dump_path: Path, admin_dsn: str, shadow: str, jobs: int, deadline: _Deadline, extra_args: Sequence[str]
) -> Verdict:
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(shadow)))
    client = pgtools.client_connection(admin_dsn, dbname=shadow)
    argv = [
        pgtools.find_binary("pg_restore"),
        f"--dbname={client.conninfo}",
        f"--jobs={max(1, jobs)}",
        "--no-password",
        *extra_args,
        str(dump_path),
    ]
    # Without --exit-on-error pg_restore goes on after a failed statement, so the layers below
    # can still name every table the failure left missing.
    done = pgtools.run(argv, timeout=deadline.left(), env=client.env, check=False)
    if done.returncode != 0:
        errors = [line.strip() for line in done.stderr.splitlines() if "error" in line.lower()]
        return Verdict(
            "restore", FAIL, f"pg_restore exited with {done.returncode}", errors[:50] or [done.stderr[-2000:]]
        )
    return Verdict("restore", PASS, f"pg_restore into {shadow} succeeded ({max(1, jobs)} jobs)")
