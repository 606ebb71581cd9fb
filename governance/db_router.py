"""Opt-in read replica for flag delivery (DATABASE_REPLICA_URL; nothing changes when it is empty).

Only the snapshot build of `flags.delivery` (what the snapshot, evaluate, OFREP, Unleash client API and the
stream serve) reads from the `replica` alias, and only inside `delivery_reads()`; every other read and every
write goes to the primary. The replica is used when all of these hold, else the build reads the primary:

- no flag changed within the read-your-writes window (DATABASE_REPLICA_MAX_LAG_SECONDS + the lag check's
  cache + 1 s): `flags.delivery.invalidate()` stamps the change time in the shared cache on every change (and
  after its commit), so an admin who just changed a flag, and every snapshot or stream build that follows a
  change notification (the build that fills the new cache generation), reads the primary: a lagging replica
  can never cache a stale body under a new generation. A change older than the window is on a replica whose
  lag is within the bound (its last replayed commit is newer than the change, and WAL replays in order);
- the replica's lag is within DATABASE_REPLICA_MAX_LAG_SECONDS: `now() - pg_last_xact_replay_timestamp()`,
  0 when the WAL receiver streams and everything received is replayed (an idle primary), and "too far behind"
  when nothing was replayed yet or the check fails; measured at most once per
  DATABASE_REPLICA_LAG_CHECK_SECONDS per process;
- no transaction is open on the primary (reads inside a transaction see its writes).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections

log = logging.getLogger("governance.db_router")

REPLICA = "replica"
CHANGED_KEY = "flags:changed_at"
_delivery = contextvars.ContextVar("governance_delivery_reads", default=False)
_lock = threading.Lock()
_lag: dict[str, float] = {"checked": -1e9, "lag": float("inf")}
_changed = {"at": 0.0}  # this process's last change (epoch), when the shared cache is unreachable


def enabled() -> bool:
    return REPLICA in settings.DATABASES


def window() -> float:
    """How long after a flag change every delivery build reads the primary (read-your-writes)."""
    return settings.DATABASE_REPLICA_MAX_LAG_SECONDS + settings.DATABASE_REPLICA_LAG_CHECK_SECONDS + 1.0


def note_change() -> None:
    """A flag changed (called by flags.delivery.invalidate, before and after commit)."""
    if not enabled():
        return
    now = time.time()
    _changed["at"] = now
    try:
        cache.set(CHANGED_KEY, now, int(window()) + 5)
    except Exception as exc:  # the cache is down: this process still knows; others read the primary (see below)
        log.warning("replica: could not record the change time: %s", exc)


def _changed_recently() -> bool:
    now = time.time()
    if now - _changed["at"] < window():
        return True
    try:
        at = cache.get(CHANGED_KEY)
    except Exception:
        return True  # cannot tell: the primary is always right
    return at is not None and now - float(at) < window()


def replica_lag() -> float:
    """Seconds the replica is behind (inf when unknown), measured at most once per check interval."""
    now = time.monotonic()
    if now - _lag["checked"] < settings.DATABASE_REPLICA_LAG_CHECK_SECONDS:
        return _lag["lag"]
    with _lock:
        if now - _lag["checked"] < settings.DATABASE_REPLICA_LAG_CHECK_SECONDS:
            return _lag["lag"]
        lag = float("inf")
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute(
                    "SELECT CASE WHEN pg_last_xact_replay_timestamp() IS NULL THEN NULL"
                    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
                    "  AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0"
                    " ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END")
                row = cursor.fetchone()
            if row is not None and row[0] is not None:
                lag = max(0.0, float(row[0]))
        except DatabaseError as exc:
            log.warning("replica: lag check failed (%s); reading the primary", exc)
            with contextlib.suppress(DatabaseError):
                connections[REPLICA].close()
        _lag.update(checked=time.monotonic(), lag=lag)
        return lag


def mark_failed() -> None:
    """A read on the replica failed: treat it as too far behind until the next check."""
    _lag.update(checked=time.monotonic(), lag=float("inf"))
    with contextlib.suppress(DatabaseError):
        connections[REPLICA].close()


def use_replica() -> bool:
    """Whether a delivery build may read the replica right now."""
    if not enabled() or connections["default"].in_atomic_block:
        return False
    if _changed_recently():
        return False
    return replica_lag() <= settings.DATABASE_REPLICA_MAX_LAG_SECONDS


@contextlib.contextmanager
def delivery_reads(replica: bool) -> Iterator[None]:
    """Inside: flag delivery reads go to the replica when `replica` (decided once, by use_replica())."""
    token = _delivery.set(replica)
    try:
        yield
    finally:
        _delivery.reset(token)


class ReplicaRouter:
    """Delivery reads inside delivery_reads(True) go to the replica; everything else to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return REPLICA if _delivery.get() else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # one database and its copy

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return db != REPLICA  # a standby is read-only; migrations reach it through replication
