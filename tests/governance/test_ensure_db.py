"""`make`'s database step: with nothing listening, it starts a project-local cluster and creates the database."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pgdata():
    # Not pytest's tmp_path: its parent is private to root, and the cluster runs as the postgres user.
    parent = Path(tempfile.mkdtemp(prefix="gov-ensure-db-"))
    parent.chmod(0o755)
    data = parent / "pgdata"
    yield data
    if (data / "postmaster.pid").exists():
        pg_ctl = shutil.which("pg_ctl") or sorted(__import__("glob").glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1]
        cmd = [pg_ctl, "-D", str(data), "-m", "immediate", "stop"]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=False, capture_output=True)
    shutil.rmtree(parent, ignore_errors=True)


def test_no_server_answering__starts_a_local_cluster_and_creates_the_database(pgdata):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/gov_local", "LOCAL_PGDATA": str(pgdata)}
    result = subprocess.run([sys.executable, "scripts/ensure_db.py"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "starting a project-local PostgreSQL" in result.stdout
    assert "created database gov_local" in result.stdout
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="gov_local") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    again = subprocess.run([sys.executable, "scripts/ensure_db.py"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0 and "created" not in again.stdout


def test_remote_server_unreachable__fails_with_a_clear_message():
    env = {**os.environ, "DATABASE_URL": "postgres://postgres@10.255.255.1:5432/x"}
    result = subprocess.run([sys.executable, "scripts/ensure_db.py"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "cannot reach PostgreSQL at 10.255.255.1:5432" in result.stderr
