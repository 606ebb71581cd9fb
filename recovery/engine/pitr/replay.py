"""Replaying a base backup plus archived WAL up to a target time in a copy of the backup (`RecoveredCluster`),
and reading from the server's log how the recovery ended.

This is the part a real point-in-time recovery needs too; the drill (drill.py) wraps it in a rehearsal.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

import psycopg

from recovery.engine import pgtools
from recovery.engine.cluster import PostgresServer, make_workdir
from recovery.engine.evidence import format_seconds, iso

TARGET_NOT_REACHED = "recovery ended before configured recovery target was reached"
_FATAL_RE = re.compile(r"(?:FATAL|PANIC):\s+(.*)")
_LAST_TXN_RE = re.compile(r"last completed transaction was at log time (.+)")


@dataclass
class RecoveryOutcome:
    """How a recovery to a target time ended."""

    reached_target: bool
    target_time: str
    seconds: float
    last_replayed_at: str | None
    error: str
    log_tail: str


class RecoveredCluster:
    """A copy of a base backup, started in archive recovery towards a target time on a free port.

    Archiving is off in the copy, so it can never write into the production archive. The directory
    is deleted on exit. Use `recover()` and then query it through `dsn()` / `connect()`.
    """

    def __init__(
        self,
        *,
        base_backup: Path,
        archive_dir: Path,
        target_time: datetime,
        base_dir: Path | None = None,
        keep: bool = False,
    ) -> None:
        if target_time.tzinfo is None:
            raise ValueError("target_time must be timezone-aware")
        self.base_backup = Path(base_backup)
        self.archive_dir = Path(archive_dir)
        self.target_time = target_time
        self.base_dir = base_dir
        self.keep = keep
        self.root: Path | None = None
        self.server: PostgresServer | None = None

    def __enter__(self) -> RecoveredCluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def dsn(self, dbname: str = "postgres") -> str:
        assert self.server is not None
        return self.server.dsn(dbname)

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        assert self.server is not None
        return self.server.connect(dbname)

    def _prepare(self) -> PostgresServer:
        if not (self.base_backup / "PG_VERSION").is_file():
            raise pgtools.EngineError(f"{self.base_backup} is not a base backup (no PG_VERSION)")
        self.root = make_workdir("gov_rec_pitr_", self.base_dir)
        data_dir = self.root / "data"
        # Copy, so that the base backup stays pristine for the next drill or the real recovery.
        shutil.copytree(self.base_backup, data_dir, symlinks=True)
        for stale in ("postmaster.pid", "postmaster.opts", "standby.signal"):
            (data_dir / stale).unlink(missing_ok=True)
        (data_dir / "recovery.signal").touch()
        server = PostgresServer(self.root, data_dir, pgtools.free_port())
        server.write_settings(
            {
                "port": str(server.port),
                "listen_addresses": "127.0.0.1",
                "unix_socket_directories": str(self.root),
                "archive_mode": "off",
                "archive_command": "",
                "fsync": "off",
                "restore_command": f"cp {self.archive_dir}/%f %p",
                "recovery_target_time": iso(self.target_time),
                "recovery_target_timeline": "latest",
                # The default action, pause, would leave the drill waiting forever at the target.
                "recovery_target_action": "promote",
                "hot_standby": "on",
            }
        )
        pgtools.give_to_server_user(self.root)
        data_dir.chmod(0o700)
        return server

    def recover(self, *, timeout_seconds: float = 600) -> RecoveryOutcome:
        """Replay to the target; returns once promoted, or failed, or timed out (never hangs)."""
        started = time.monotonic()
        deadline = started + timeout_seconds
        self.server = server = self._prepare()
        server.start(timeout=max(1.0, min(60.0, timeout_seconds)), wait=False)
        error = ""
        reached = False
        last_replayed: str | None = None
        while True:
            log = server.log_text()
            if TARGET_NOT_REACHED in log:
                error = f"{TARGET_NOT_REACHED}: target {iso(self.target_time)} is beyond the archived WAL"
                if reach := _LAST_TXN_RE.search(log):
                    error += f" (the archive reaches the commit at {reach.group(1).strip()})"
                break
            if fatal := _startup_fatal(log):
                error = fatal
                break
            state = _recovery_state(server)
            if state is not None:
                in_recovery, replayed = state
                if not in_recovery:
                    reached = True
                    last_replayed = replayed
                    break
            elif not server.is_running() and "database system is shut down" in log:
                error = "server stopped during recovery: " + log.strip().splitlines()[-1][-500:]
                break
            if time.monotonic() >= deadline:
                error = f"recovery did not finish within {format_seconds(timeout_seconds)}"
                break
            time.sleep(0.1)
        if not reached:
            # A server stuck in recovery must not outlive the drill.
            server.stop(mode="immediate")
        return RecoveryOutcome(
            reached_target=reached,
            target_time=iso(self.target_time),
            seconds=round(time.monotonic() - started, 4),
            last_replayed_at=last_replayed,
            error=error,
            log_tail="\n".join(server.log_text().splitlines()[-40:]),
        )

    def close(self) -> None:
        if self.server is not None:
            self.server.stop(mode="immediate")
        if self.root is not None and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def _startup_fatal(log: str) -> str:
    """The first FATAL/PANIC that ends recovery; connection-level FATALs (e.g. "starting up") are not."""
    for line in log.splitlines():
        match = _FATAL_RE.search(line)
        if not match:
            continue
        message = match.group(1).strip()
        if "the database system is starting up" in message or "the database system is not yet accepting" in message:
            continue
        return message
    return ""


def _recovery_state(server: PostgresServer) -> tuple[bool, str | None] | None:
    try:
        with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=2) as conn:
            row = conn.execute("SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()").fetchone()
    except psycopg.Error:
        return None
    assert row is not None
    return bool(row[0]), iso(row[1]) if row[1] is not None else None
