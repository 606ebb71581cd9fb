"""The flag stream: Server-Sent Events of each service's snapshot, served by uvicorn (ASGI), not gunicorn.

    uvicorn flags.stream:application --port 8001      (scripts/run.sh starts it; docs/ARCHITECTURE.md)

`GET /api/v1/flags/stream?service=…&environment=…` with a `flags:read` token (restricted tokens
honoured, like the snapshot). The answer is `text/event-stream`:

- first the current state: `event: snapshot` with the signed snapshot (the snapshot endpoint's body)
  as data and its ETag (without quotes) as the event id; or, when `Last-Event-ID` names that ETag,
  `event: unchanged` (the client keeps what it has: no reload), or when it names the state before the
  last change, that change as a delta;
- then an event for every change of what the snapshot endpoint serves: `event: delta` (data: `base`, the
  ETag it applies to, and `set`/`unset` top-level members and changed `features` by name, signature
  included; govctl.flags.snapshot.apply_delta), or `event: snapshot` when a flag was added or removed;
- a comment line (`: heartbeat <revision>`) every FLAGS_STREAM_HEARTBEAT_SECONDS, so clients and
  proxies know the connection is alive.

Why a separate ASGI app: an open stream is an idle socket for minutes or hours; in gunicorn's gthread
workers each would hold a thread the admin and the API need. Here an open stream costs one coroutine
and one queue. Nothing per stream touches the database: one hub per process builds each target's
snapshot once per change (through flags.delivery, the snapshot endpoint's own layers) on a small
thread pool, and one broker listener per process (flags.push) says when (PITFALLS: Streams and async).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
django.setup()

from django.conf import settings  # noqa: E402  (after django.setup())
from django.db import close_old_connections  # noqa: E402
from govctl.flags.snapshot import canonical_json, snapshot_delta  # noqa: E402

from flags import delivery, push, served  # noqa: E402
from flags.api.auth import FlagReadThrottle, Unavailable, verified_token  # noqa: E402
from flags.api.common import SLUG_PATTERN  # noqa: E402
from governance.api.permissions import token_allows  # noqa: E402
from governance.models import Scope  # noqa: E402

log = logging.getLogger("flags.stream")

PATH = "/api/v1/flags/stream"
Scope_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Django work (token checks, snapshot builds) runs here: a few threads, so a few database connections
# per process whatever the number of streams.
_django = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="flags-stream-django")


class Refused(Exception):
    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


def _in_django(func: Callable[..., Any], *args: Any) -> Awaitable[Any]:
    def run() -> Any:
        close_old_connections()  # a connection broken by a database restart is replaced, not reused
        return func(*args)

    return asyncio.get_running_loop().run_in_executor(_django, run)


def _event(snapshot: delivery.Snapshot) -> bytes:
    # canonical JSON has no newline, so the body is one data line
    return b"id: " + snapshot.etag.strip('"').encode() + b"\nevent: snapshot\ndata: " + snapshot.content + b"\n\n"


def _change_event(old: delivery.Snapshot, new: delivery.Snapshot) -> bytes:
    """What streams at `old` get for `new`: a delta (changed members and features, the new signature; a
    kill switch flip is a few hundred bytes instead of the whole snapshot), or the snapshot when smaller."""
    full = _event(new)
    delta = snapshot_delta(old.body, new.body)
    if delta is None:
        return full
    data = canonical_json({"base": old.etag.strip('"'), **delta})
    event = b"id: " + new.etag.strip('"').encode() + b"\nevent: delta\ndata: " + data + b"\n\n"
    return event if len(event) < len(full) else full


class _Target:
    __slots__ = ("key", "streams", "snapshot", "event", "previous", "catch_up")

    def __init__(self, key: tuple[str, str]) -> None:
        self.key = key
        self.streams: set[asyncio.Queue[bytes]] = set()
        self.snapshot: delivery.Snapshot | None = None
        self.event = b""  # the current snapshot as an event: what a new stream gets first
        self.previous: delivery.Snapshot | None = None  # the state before the last change
        self.catch_up = b""  # the last change as an event: for a stream resuming from `previous`

    def first_event(self, last_event_id: str) -> bytes:
        """What a (re)connecting stream gets first: `unchanged` when it has the current state, the last
        change when it has the one before (it missed one change while reconnecting), else the snapshot."""
        assert self.snapshot is not None  # set by Hub.subscribe before any stream reads it
        current = self.snapshot.etag.strip('"')
        if last_event_id == current:
            return (b"id: " + current.encode() + b"\nevent: unchanged\ndata: "
                    + json.dumps({"revision": self.snapshot.revision}).encode() + b"\n\n")
        if self.previous is not None and last_event_id == self.previous.etag.strip('"') and self.catch_up:
            return self.catch_up
        return self.event

    def advance(self, snapshot: delivery.Snapshot) -> int:
        """Make `snapshot` current and send the change to the open streams; how many got it."""
        if self.snapshot is not None and self.snapshot.etag == snapshot.etag:
            return 0
        old, self.snapshot, self.event = self.snapshot, snapshot, _event(snapshot)
        self.previous, self.catch_up = old, (b"" if old is None else _change_event(old, snapshot))
        if not self.catch_up:
            return 0
        for queue in self.streams:
            queue.put_nowait(self.catch_up)
        if self.streams:
            served.SNAPSHOTS_SERVED.labels(endpoint="stream", source=snapshot.source).inc(len(self.streams))
        return len(self.streams)


class Hub:
    """The targets this process streams, their last snapshot, and the loop that pushes changes."""

    def __init__(self) -> None:
        self.targets: dict[tuple[str, str], _Target] = {}
        self.changed = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.pushed = 0  # events queued, for tests and the benchmark

    def start(self) -> None:
        if not self.tasks:
            self.tasks = [asyncio.create_task(self._run(), name="flags-stream-hub"),
                          asyncio.create_task(push.listen(self.notify, self.notify), name="flags-stream-listener")]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []

    def notify(self) -> None:
        self.changed.set()

    def open_streams(self) -> int:
        return sum(len(t.streams) for t in self.targets.values())

    def subscribe(self, snapshot: delivery.Snapshot) -> asyncio.Queue[bytes]:
        key = (snapshot.service, snapshot.environment)
        target = self.targets.get(key)
        if target is None:
            target = self.targets[key] = _Target(key)
        if target.snapshot is None or snapshot.revision is None or (target.snapshot.revision or 0) <= snapshot.revision:
            # a newer state seen at connect time reaches the open streams too (else they would wait for the next)
            self.pushed += target.advance(snapshot)
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        target.streams.add(queue)
        return queue

    def unsubscribe(self, key: tuple[str, str], queue: asyncio.Queue[bytes]) -> None:
        target = self.targets.get(key)
        if target is not None:
            target.streams.discard(queue)
            if not target.streams:
                del self.targets[key]

    def _wait(self) -> float:
        """Seconds until the next resync or the next emergency toggle's expiry."""
        now = time.time()
        wait = float(settings.FLAGS_STREAM_RESYNC_SECONDS)
        for key in self.targets:
            at = delivery.next_expiry(*key)
            if at is not None and at > now:
                wait = min(wait, at - now + 0.05)
        return wait

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self.changed.wait(), self._wait())
                # A change was announced: drop this process's copies and bump the shared generation, since
                # the writer's own bump (after its commit) may come after the announcement reached us.
                changed = True
            except TimeoutError:
                changed = False  # resync or expiry: the layers' own freshness rules decide
            self.changed.clear()
            try:
                await self._refresh(changed)
            except Exception:  # the hub must outlive any surprise; the next change or resync retries
                log.exception("flags: stream refresh failed")
                await asyncio.sleep(1)

    async def _refresh(self, changed: bool) -> None:
        keys = [key for key, target in self.targets.items() if target.streams]
        if not keys:
            return
        snapshots = await _in_django(_current, keys, changed)
        for key, snapshot in zip(keys, snapshots, strict=True):
            target = self.targets.get(key)
            if target is not None and snapshot is not None:
                self.pushed += target.advance(snapshot)


def _current(keys: list[tuple[str, str]], changed: bool) -> list[delivery.Snapshot | None]:
    if changed:
        delivery.invalidate()
    snapshots: list[delivery.Snapshot | None] = []
    for key in keys:
        try:
            snapshots.append(delivery.get_snapshot(*key))
        except (delivery.UnknownTarget, *delivery.DB_ERRORS):
            snapshots.append(None)  # keep serving what the streams have; the layers logged why
    return snapshots


def _authorize(meta: dict[str, Any], service: str, environment: str) -> delivery.Snapshot:
    """The snapshot this request may stream, or Refused with the snapshot endpoint's status."""
    if not (SLUG_PATTERN.match(service) and SLUG_PATTERN.match(environment)):
        raise Refused(400 if not (service and environment) else 404, "Invalid target",
                      "Give ?service=<slug>&environment=<slug> of an existing service and environment.")
    try:
        token = verified_token(meta)
    except Unavailable as exc:
        raise Refused(503, "Unavailable", str(exc.detail), {"Retry-After": "5"}) from None
    if token is None:
        raise Refused(401, "Not authenticated", "Send a valid flags:read token: 'Authorization: Bearer <token>'.",
                      {"WWW-Authenticate": "Bearer"})
    if Scope.FLAGS_READ.value not in token.scopes:
        raise Refused(403, "Permission denied", f"The token lacks the scope '{Scope.FLAGS_READ.value}'.")
    wait = FlagReadThrottle.take(f"token-{token.pk}")
    if wait is not None:
        raise Refused(429, "Throttled", f"Too many requests; retry in {wait:.0f}s.", {"Retry-After": f"{wait:.0f}"})
    try:
        snapshot = delivery.get_snapshot(service, environment)
    except delivery.UnknownTarget as exc:
        raise Refused(404, "Not found", f"Unknown target: {exc}.") from None
    if snapshot is None:
        raise Refused(503, "No flag data", "The portal has no flag data for this service and environment right now.",
                      {"Retry-After": "5"})
    if not token_allows(token, service_id=snapshot.service_id, environment_id=snapshot.environment_id):
        raise Refused(403, "Permission denied", "This token is restricted to other services or environments.")
    served.count("stream", snapshot)  # the first event a new stream gets
    return snapshot


def _meta(scope: Scope_) -> dict[str, Any]:
    """The request headers as Django's META names them (what flags.api.auth reads)."""
    return {"HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
            for name, value in scope.get("headers", [])}


async def _problem(send: Send, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    raw = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


hub: Hub | None = None


def _hub() -> Hub:
    global hub
    if hub is None:
        hub = Hub()
    hub.start()
    return hub


async def _stream(scope: Scope_, receive: Receive, send: Send) -> None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    service, environment = query.get("service", [""])[0], query.get("environment", [""])[0]
    meta = _meta(scope)
    try:
        snapshot: delivery.Snapshot = await _in_django(_authorize, meta, service, environment)
    except Refused as refused:
        await _problem(send, refused.status, refused.title, refused.detail, refused.headers)
        return
    the_hub = _hub()
    queue = the_hub.subscribe(snapshot)
    key = (snapshot.service, snapshot.environment)
    target = the_hub.targets[key]
    headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache, no-transform"),
               (b"x-accel-buffering", b"no")]  # nginx: do not buffer the stream
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        first = b"retry: %d\n\n" % settings.FLAGS_STREAM_RETRY_MS
        first += target.first_event(meta.get("HTTP_LAST_EVENT_ID", "").strip().strip('"'))
        await send({"type": "http.response.body", "body": first, "more_body": True})
        disconnected = asyncio.create_task(_disconnect(receive))
        try:
            while not disconnected.done():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, disconnected}, timeout=settings.FLAGS_STREAM_HEARTBEAT_SECONDS,
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    await send({"type": "http.response.body", "body": getter.result(), "more_body": True})
                    continue
                getter.cancel()
                if not done:
                    revision = target.snapshot.revision if target.snapshot else None
                    await send({"type": "http.response.body", "body": b": heartbeat %s\n\n" % str(revision).encode(),
                                "more_body": True})
        finally:
            disconnected.cancel()
    except OSError:
        pass  # the client went away mid-write
    finally:
        the_hub.unsubscribe(key, queue)


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _hub()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if hub is not None:
                await hub.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: Scope_, receive: Receive, send: Send) -> None:
    """The ASGI app: the stream route, a liveness probe, and problem JSON for anything else."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    path = scope.get("path", "")
    if path == "/healthz":
        body = json.dumps({"status": "ok", "streams": hub.open_streams() if hub else 0, "broker": push.broker(),
                           "pid": os.getpid()}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
    elif path != PATH:
        await _problem(send, 404, "Not found", "This server serves only the flag stream: " + PATH)
    elif scope.get("method") != "GET":
        await _problem(send, 405, "Method not allowed", "The flag stream answers GET.", {"Allow": "GET"})
    else:
        await _stream(scope, receive, send)
