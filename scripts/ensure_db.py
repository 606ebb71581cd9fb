"""Make sure PostgreSQL answers at DATABASE_URL and the database exists.

If no server answers on a local address and PostgreSQL's binaries are installed, start a
project-local cluster in .pgdata on that port (as the `postgres` user when run as root, since
PostgreSQL refuses to run as root). Uses only psycopg, so it runs before Django is configured.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/governance"


def parse(url: str) -> dict:
    u = urlparse(url)
    if u.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"ensure_db: DATABASE_URL must be a postgres:// URL, got scheme {u.scheme!r}")
    return {
        "host": u.hostname or "127.0.0.1",
        "port": u.port or 5432,
        "user": unquote(u.username or "postgres"),
        "password": unquote(u.password or ""),
        "dbname": unquote(u.path.lstrip("/") or "governance"),
    }


def connect(p: dict, dbname: str) -> psycopg.Connection:
    return psycopg.connect(
        host=p["host"], port=p["port"], user=p["user"], password=p["password"] or None,
        dbname=dbname, connect_timeout=3, autocommit=True,
    )


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def start_local_cluster(p: dict) -> None:
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        sys.exit(f"ensure_db: no PostgreSQL answers at {p['host']}:{p['port']} and no PostgreSQL binaries are installed")
    data = Path(os.environ.get("LOCAL_PGDATA", ROOT / ".pgdata"))
    as_root = os.geteuid() == 0

    def run(cmd: list[str]) -> None:
        if as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True)

    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(data, pw.pw_uid, pw.pw_gid)
        run([initdb, "-D", str(data), "-U", p["user"], "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
    print(f"ensure_db: starting a project-local PostgreSQL in {data} on port {p['port']}", flush=True)
    opts = f"-p {p['port']} -k /tmp -c listen_addresses={p['host']}"
    run([pg_ctl, "-D", str(data), "-l", str(data / "server.log"), "-o", opts, "-w", "start"])


def main() -> None:
    p = parse(os.environ.get("DATABASE_URL", DEFAULT_URL))
    try:
        conn = connect(p, "postgres")
    except psycopg.OperationalError as exc:
        if p["host"] not in ("127.0.0.1", "localhost", "::1"):
            sys.exit(f"ensure_db: cannot reach PostgreSQL at {p['host']}:{p['port']}: {exc}")
        start_local_cluster(p)
        for _ in range(30):
            try:
                conn = connect(p, "postgres")
                break
            except psycopg.OperationalError:
                time.sleep(1)
        else:
            sys.exit("ensure_db: the project-local PostgreSQL did not come up; see .pgdata/server.log")
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [p["dbname"]]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(p["dbname"])))
            print(f"ensure_db: created database {p['dbname']}")
    print(f"ensure_db: PostgreSQL ready at {p['host']}:{p['port']}/{p['dbname']}")


if __name__ == "__main__":
    main()
