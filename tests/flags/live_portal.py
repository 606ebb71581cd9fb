"""A throwaway PostgreSQL cluster and a real portal process (gunicorn) for outage tests and benchmarks.

PostgreSQL refuses to run as root: when root, the cluster runs as the `postgres` user (runuser) in a
directory it owns, as scripts/ensure_db.py does.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> str:
    found = shutil.which(name) or max(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), default=None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return found


class Cluster:
    """initdb + pg_ctl in a temporary directory; start() and stop() as often as a test needs."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="gov-pg-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8"])

    def _run(self, cmd: list[str]) -> None:
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", opts, "-w",
                   "start"])

    def stop(self) -> None:
        self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def query(self, database: str, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database) as conn:
            return conn.execute(sql, params).fetchall()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    if check and result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def token_maker(env: dict[str, str], reason: str) -> Callable[..., str]:
    """Issue tokens through `create_token`, owned by a service account (ci-bot) made first: people create theirs
    in the admin, so the command issues only service accounts' tokens."""
    manage(env, "create_service_account", "ci-bot", "--description", "live tests", "--reason", "live test set-up")

    def token(*args: str) -> str:
        return manage(env, "create_token", "--owner", "ci-bot", "--reason", reason, *args).stdout.strip()

    return token


class Portal:
    """gunicorn serving the portal on 127.0.0.1 (gthread workers, like production)."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, threads: int = 4, wsgi: str = "governance.wsgi",
                 log: Path | None = None, config: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or Path(tempfile.mkstemp(prefix="gov-portal-", suffix=".log")[1])
        self._log_handle = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        # a gunicorn config file (e.g. raw_env) is re-read on SIGHUP: new workers, no dropped request
        extra = ["--config", str(config)] if config is not None else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", f"{wsgi}:application", "-b", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
             "--log-level", "warning", *extra],
            cwd=ROOT, env=env, stdout=self._log_handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the portal exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"the portal did not answer /healthz: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log_handle.close()


class QCluster:
    """`manage.py qcluster` in its own session; stopped with one SIGTERM to its main process (PITFALLS,
    django-q2#346). Its output goes to `log` (appended), or to a temporary file."""

    def __init__(self, env: dict[str, str], log: Path | None = None) -> None:
        self.log = log or Path(tempfile.mkstemp(prefix="gov-qcluster-", suffix=".log")[1])
        self._log_handle = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                                        stdout=self._log_handle, stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log_handle.close()


class StreamServer:
    """uvicorn serving the flag stream (flags.stream) on 127.0.0.1, as scripts/run.sh starts it."""

    def __init__(self, env: dict[str, str], *, port: int | None = None, log: Path | None = None) -> None:
        self.env = env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or Path(tempfile.mkstemp(prefix="gov-stream-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self._log_handle = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "flags.stream:application", "--host", "127.0.0.1", "--port",
             str(self.port), "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "1"],
            cwd=ROOT, env=self.env, stdout=self._log_handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stream server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"the stream server did not answer /healthz: {self.log.read_text()[-3000:]}")

    def health(self) -> dict:
        return httpx.get(f"{self.url}/healthz", timeout=5).json()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log_handle.close()
