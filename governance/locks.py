"""The one advisory-lock helper: a PostgreSQL advisory lock named by a string, held for a block.

Every "one at a time across workers" guard uses it (the audit checkpoint writer, the SLO checker, a plan's
verification, a backfill's runner and its resume sweep, a backup target's drill or backup). The name becomes a
stable signed 64-bit key (BLAKE2b of the UTF-8 name), the same in every process and release, so two guards
collide only when they name the same thing. Names are "<app>:<what>[:<id>]".

- scope="transaction": pg_(try_)advisory_xact_lock; held until the surrounding transaction ends (the block must
  run inside one). For guards inside a service's @transaction.atomic.
- scope="session": pg_(try_)advisory_lock, released when the block ends (or the session does). For work that
  commits many transactions (a backfill, a drill) or runs outside one.
- wait=True blocks until the lock is free (yields True); wait=False yields False at once when another session
  holds it, so the caller can skip ("busy") instead of queueing behind it.

`connection` is Django's (the default) or any DB-API-like connection with .cursor() (a psycopg Connection, as the
backfill engine holds its own).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any, Literal

Scope = Literal["transaction", "session"]


def lock_key(name: str) -> int:
    """The bigint key of an advisory lock name (stable across processes, Python versions and releases)."""
    if not name:
        raise ValueError("An advisory lock needs a name.")
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _one(connection: Any, query: str, key: int) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(query, [key])
        row = cursor.fetchone()
    return row[0] if row else None


@contextlib.contextmanager
def advisory_lock(name: str, *, wait: bool, scope: Scope = "transaction", connection: Any = None) -> Iterator[bool]:
    """Hold the advisory lock `name` for the block; yields whether it is held (always True with wait=True)."""
    if connection is None:
        from django.db import connection as default_connection

        connection = default_connection
    if scope == "transaction" and getattr(connection, "in_atomic_block", True) is False:
        raise RuntimeError(f"advisory_lock({name!r}, scope='transaction') needs an open transaction.")
    key = lock_key(name)
    function = {("transaction", True): "pg_advisory_xact_lock", ("transaction", False): "pg_try_advisory_xact_lock",
                ("session", True): "pg_advisory_lock", ("session", False): "pg_try_advisory_lock"}[(scope, wait)]
    result = _one(connection, f"SELECT {function}(%s)", key)
    acquired = True if wait else bool(result)
    try:
        yield acquired
    finally:
        if acquired and scope == "session" and not (getattr(connection, "closed", False)
                                                    or getattr(connection, "broken", False)):
            _one(connection, "SELECT pg_advisory_unlock(%s)", key)
