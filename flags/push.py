"""Fan-out of flag changes between processes, through a broker the portal already has.

One channel, one message: "flags changed, rebuild what you serve". PostgreSQL LISTEN/NOTIFY is the
embedded default; Redis pub/sub when REDIS_URL is set (the same Redis as the cache and the django-q2
broker). The writer publishes from `flags.services.common._invalidate`, the one place every flag
change (services, approvals, scheduled changes, the expiry job) goes through:

- PostgreSQL: `pg_notify` inside the writing transaction. PostgreSQL delivers it at commit and drops
  it on rollback, so a committed change cannot lose its announcement to a crash after commit.
- Redis: PUBLISH after commit (`transaction.on_commit`); Redis pub/sub is at-most-once.

Either way a listener may miss a message (it was reconnecting): the stream server also rebuilds what
it serves every FLAGS_STREAM_RESYNC_SECONDS and after each reconnect of its listener, so a missed
message costs seconds of delay, never a wrong state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from govctl.flags.streaming import backoff

log = logging.getLogger("flags.push")

def channel() -> str:
    return settings.FLAGS_STREAM_CHANNEL  # one per portal: Redis pub/sub channels ignore the database number


def broker() -> str:
    return "redis" if settings.REDIS_URL else "postgres"


def _message() -> str:
    return json.dumps({"at": time.time()})


def publish() -> None:
    """Announce a flag change to every stream process, once the current transaction commits."""
    if settings.REDIS_URL:
        transaction.on_commit(_publish_redis)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [channel(), _message()])


def _publish_redis() -> None:
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        try:
            client.publish(channel(), _message())
        finally:
            client.close()
    except redis.RedisError as exc:  # the change is committed; streams catch up at their next resync
        log.warning("flags: could not publish a change on Redis: %s", exc)


def _conninfo() -> str:
    from psycopg.conninfo import make_conninfo

    db = settings.DATABASES["default"]
    params = {"dbname": db.get("NAME"), "host": db.get("HOST") or None, "port": db.get("PORT") or None,
              "user": db.get("USER") or None, "password": db.get("PASSWORD") or None,
              "application_name": "flags-stream-listener"}
    return make_conninfo("", **{k: str(v) for k, v in params.items() if v})


async def _listen_postgres(on_change: Callable[[], Any], on_connect: Callable[[], Any]) -> None:
    import psycopg
    from psycopg import sql

    async with await psycopg.AsyncConnection.connect(_conninfo(), autocommit=True) as conn:
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel())))
        on_connect()
        async for _ in conn.notifies():
            on_change()


async def _listen_redis(on_change: Callable[[], Any], on_connect: Callable[[], Any]) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.REDIS_URL)
    try:
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(channel())
            on_connect()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    on_change()
    finally:
        await client.aclose()


async def listen(on_change: Callable[[], Any], on_connect: Callable[[], Any]) -> None:
    """Call on_change for every announced change, forever: one broker connection per process, reconnected
    with backoff. on_connect runs after each (re)connection: changes may have been missed meanwhile."""
    listener = _listen_redis if settings.REDIS_URL else _listen_postgres
    failures = 0
    while True:
        started = time.monotonic()
        try:
            await listener(on_change, on_connect)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("flags: %s listener lost (%s: %s); reconnecting", broker(), exc.__class__.__name__, exc)
        failures = 0 if time.monotonic() - started > 30 else failures + 1
        await asyncio.sleep(backoff(failures + 1))
