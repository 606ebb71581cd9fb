"""Throwaway PostgreSQL clusters in temporary directories, on free ports, safe to run as root."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import psycopg

from recovery.engine import pgtools

_BIND_FAILURES = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")


def _conf_value(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class PostgresServer:
    """A data directory plus the pg_ctl commands to run it; the log goes to `log_path`."""

    def __init__(self, root: Path, data_dir: Path, port: int) -> None:
        self.root = root
        self.data_dir = data_dir
        self.port = port
        self.log_path = root / f"{data_dir.name}.log"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=5"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.dsn(dbname), autocommit=True)

    def _pg_ctl(self, *args: str, timeout: float, check: bool = True) -> pgtools.Completed:
        argv = pgtools.as_server_user([pgtools.find_binary("pg_ctl"), "-D", str(self.data_dir), *args])
        return pgtools.run(argv, timeout=timeout, check=check, cwd=self.root)

    def write_settings(self, settings: Mapping[str, str], file_name: str = "postgresql.auto.conf") -> None:
        # Settings later in the file win, so appending overrides whatever a base backup carried over.
        with open(self.data_dir / file_name, "a", encoding="utf-8") as fh:
            fh.write("\n# written by recovery.engine\n")
            for name, value in settings.items():
                fh.write(f"{name} = {_conf_value(value)}\n")

    def start(self, *, timeout: float, wait: bool = True) -> pgtools.Completed:
        args = ["-l", str(self.log_path), "-t", str(max(1, int(timeout)))]
        args.append("-w" if wait else "-W")
        return self._pg_ctl(*args, "start", timeout=timeout + 10, check=False)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def postmaster_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            return int(first)
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def is_running(self) -> bool:
        pid = self.postmaster_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self, *, mode: str = "fast", timeout: float = 30) -> None:
        if not self.is_running():
            return
        with contextlib.suppress(pgtools.EngineError):
            self._pg_ctl("-m", mode, "-w", "-t", str(int(timeout)), "stop", timeout=timeout + 10, check=False)
        if self.is_running() and mode != "immediate":
            with contextlib.suppress(pgtools.EngineError):
                self._pg_ctl("-m", "immediate", "-w", "-t", "10", "stop", timeout=20, check=False)
        pid = self.postmaster_pid()
        if pid is not None and self.is_running():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def make_workdir(prefix: str, base_dir: Path | None = None) -> Path:
    """A private temporary directory the server user owns (PostgreSQL refuses to run as root)."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=base_dir))
    if any(c in str(root) for c in "'\" \\"):
        shutil.rmtree(root, ignore_errors=True)
        raise pgtools.EngineError(f"temporary directory {root} has characters unsafe in server settings")
    pgtools.give_to_server_user(root)
    return root


class ThrowawayCluster:
    """A fresh cluster (initdb) with WAL archiving on, on a free 127.0.0.1 port, deleted on exit.

    `archive_dir` receives every finished WAL segment; `base_backup()` takes a pg_basebackup copy.
    As root, the server and its tools run as the postgres user through `runuser`.
    """

    def __init__(
        self,
        *,
        archive: bool = True,
        settings: Mapping[str, str] | None = None,
        base_dir: Path | None = None,
        timeout_seconds: float = 120,
        keep: bool = False,
    ) -> None:
        self.archive = archive
        self.extra_settings = dict(settings or {})
        self.base_dir = base_dir
        self.timeout_seconds = timeout_seconds
        self.keep = keep
        self.root: Path | None = None
        self.server: PostgresServer | None = None

    @property
    def running(self) -> PostgresServer:
        if self.server is None:
            raise pgtools.EngineError("cluster is not started")
        return self.server

    @property
    def port(self) -> int:
        return self.running.port

    @property
    def data_dir(self) -> Path:
        return self.running.data_dir

    @property
    def archive_dir(self) -> Path:
        assert self.root is not None
        return self.root / "archive"

    @property
    def log_path(self) -> Path:
        return self.running.log_path

    def dsn(self, dbname: str = "postgres") -> str:
        return self.running.dsn(dbname)

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return self.running.connect(dbname)

    def __enter__(self) -> ThrowawayCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        self.root = make_workdir("gov_rec_cluster_", self.base_dir)
        data_dir = self.root / "data"
        self.archive_dir.mkdir()
        pgtools.give_to_server_user(self.archive_dir)
        initdb = [
            pgtools.find_binary("initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ]
        pgtools.run(pgtools.as_server_user(initdb), timeout=self.timeout_seconds, cwd=self.root)
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.root),
            "max_connections": "20",
            "shared_buffers": "32MB",
            # Throwaway data: durability buys nothing, and fsync makes tests slow.
            "fsync": "off",
            "wal_level": "replica",
            "max_wal_senders": "4",
            "archive_mode": "on" if self.archive else "off",
            "archive_command": f"test ! -f {self.archive_dir}/%f && cp %p {self.archive_dir}/%f",
            **self.extra_settings,
        }
        for attempt in range(3):
            server = PostgresServer(self.root, data_dir, pgtools.free_port())
            server.write_settings({**settings, "port": str(server.port)}, "postgresql.conf")
            started = server.start(timeout=self.timeout_seconds)
            if started.returncode == 0:
                self.server = server
                return
            log = server.log_text()
            server.stop(mode="immediate")
            # Another process may grab the port between free_port() and the bind: try another one.
            if attempt < 2 and any(marker in log for marker in _BIND_FAILURES):
                continue
            raise pgtools.EngineError(f"throwaway cluster did not start: {started.stderr.strip()} {log[-2000:]}")

    def switch_wal_and_wait_archived(self, *, timeout: float = 60) -> str:
        """Close the current WAL segment and wait until the archiver has copied it; returns its name."""
        with self.connect() as conn:
            row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
            assert row is not None
            segment = str(row[0])
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                row = conn.execute("SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver").fetchone()
                assert row is not None
                if row[0] is not None and str(row[0]) >= segment:
                    return segment
                time.sleep(0.05)
        raise pgtools.StepTimeout(f"WAL segment {segment} was not archived within {timeout:.0f}s")

    def base_backup(self, target: Path, *, timeout: float = 300) -> pgtools.Completed:
        """pg_basebackup into `target` (must not exist), fast checkpoint, WAL streamed alongside."""
        argv = [
            pgtools.find_binary("pg_basebackup"),
            "-d",
            self.dsn(),
            "-D",
            str(target),
            "--checkpoint=fast",
            "--wal-method=stream",
            "--no-sync",
        ]
        return pgtools.run(pgtools.as_server_user(argv), timeout=timeout, cwd=self.root)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop(mode="immediate")
        if self.root is not None and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
