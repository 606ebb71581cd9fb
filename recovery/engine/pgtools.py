"""PostgreSQL binaries, connection strings and bounded subprocesses shared by the engine."""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

SERVER_USER = "postgres"


class EngineError(RuntimeError):
    """A recovery step could not run (missing binary, bad DSN, tool failure)."""


class StepTimeout(EngineError):
    """A step ran past its deadline and was stopped."""


def find_binary(name: str) -> str:
    """Path of a PostgreSQL program: $GOV_PG_BINDIR, then the newest Debian versioned dir, then PATH."""
    candidates: list[str] = []
    if env_dir := os.environ.get("GOV_PG_BINDIR"):
        candidates.append(os.path.join(env_dir, name))

    def major(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    # The versioned directory comes before PATH because Debian's PATH lacks initdb and pg_ctl, and
    # mixing client and server programs of different majors gives confusing failures.
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin/"), key=major, reverse=True):
        candidates.append(os.path.join(bindir, name))
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise EngineError(f"PostgreSQL program {name!r} not found (set GOV_PG_BINDIR or install PostgreSQL)")


def running_as_root() -> bool:
    return os.geteuid() == 0


def server_user_ids() -> tuple[int, int]:
    """uid/gid of the account PostgreSQL servers run as when this process is root."""
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise EngineError(f"running as root but there is no {SERVER_USER!r} user to run PostgreSQL as")
    return entry.pw_uid, entry.pw_gid


def as_server_user(argv: Sequence[str]) -> list[str]:
    """Wrap a command so that it runs as the postgres user when we are root (the server refuses root)."""
    if running_as_root():
        server_user_ids()
        return ["runuser", "-u", SERVER_USER, "--", *argv]
    return list(argv)


def give_to_server_user(path: Path) -> None:
    """Make a directory tree owned by the server user (no-op when not root)."""
    if not running_as_root():
        return
    uid, gid = server_user_ids()
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


@dataclass(frozen=True)
class ClientConnection:
    """A DSN split so that the password travels in the environment instead of the argument list."""

    conninfo: str
    env: dict[str, str]


def client_connection(dsn: str, **overrides: str) -> ClientConnection:
    params = conninfo_to_dict(make_conninfo(dsn, **overrides))
    env: dict[str, str] = {}
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    return ClientConnection(
        conninfo=make_conninfo("", **{k: str(v) for k, v in params.items() if v is not None}), env=env
    )


def dsn_with_database(dsn: str, dbname: str) -> str:
    return make_conninfo(dsn, dbname=dbname)


def database_name(dsn: str) -> str:
    params = conninfo_to_dict(dsn)
    name = params.get("dbname") or params.get("user") or os.environ.get("PGDATABASE") or os.environ.get("PGUSER")
    if not name:
        raise EngineError("the DSN names no database")
    return str(name)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the caller retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Completed:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    cwd: str | os.PathLike[str] | None = None,
) -> Completed:
    """Run a program with a hard deadline; on expiry its whole process group is killed."""
    if timeout <= 0:
        raise StepTimeout(f"no time left to run {Path(argv[0]).name}")
    full_env = {**os.environ, **(env or {})}
    started = time.monotonic()
    # A new session lets us kill pg_restore's parallel workers together with it.
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        stdout, stderr = proc.communicate()
        raise StepTimeout(f"{Path(argv[0]).name} did not finish within {timeout:.1f}s: {stderr.strip()[-500:]}")
    seconds = time.monotonic() - started
    result = Completed(list(argv), proc.returncode, stdout, stderr, seconds)
    if check and proc.returncode != 0:
        raise EngineError(f"{Path(argv[0]).name} exited with {proc.returncode}: {stderr.strip()[-2000:]}")
    return result


def kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
