"""The proxies, their toxics and the connections they shape (see chaos.netproxy)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

TOXIC_TYPES = ("latency", "bandwidth", "timeout", "reset_peer")
STREAMS = ("downstream", "upstream")
DEFAULT_ATTRIBUTES: dict[str, dict[str, float]] = {
    "latency": {"latency": 0, "jitter": 0}, "bandwidth": {"rate": 0}, "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
}
CHUNK = 32 * 1024
TICK = 0.02  # seconds between checks of connection-level toxics (timeout, reset_peer)
T = TypeVar("T")


class ProxyError(ValueError):
    """A request the proxy refuses (the HTTP API answers 400/404/409 with the message)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass
class Toxic:
    name: str
    type: str
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, float] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "stream": self.stream, "toxicity": self.toxicity,
                "attributes": dict(self.attributes)}


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ProxyError(f"{text!r} is not host:port")
    return host, int(port)


def _toxic_from(data: dict[str, Any], existing: set[str]) -> Toxic:
    kind = data.get("type")
    if kind not in TOXIC_TYPES:
        raise ProxyError(f"toxic type must be one of {', '.join(TOXIC_TYPES)} (\"down\" is enabled: false)")
    stream = data.get("stream", "downstream")
    if stream not in STREAMS:
        raise ProxyError("stream must be downstream or upstream")
    name = data.get("name") or f"{kind}_{stream}"
    if name in existing:
        raise ProxyError(f"toxic {name!r} already exists", 409)
    toxicity = data.get("toxicity", 1.0)
    if isinstance(toxicity, bool) or not isinstance(toxicity, int | float) or not 0 <= toxicity <= 1:
        raise ProxyError("toxicity must be a number from 0 to 1")
    attributes = {**DEFAULT_ATTRIBUTES[kind], **_numbers(data.get("attributes") or {})}
    return Toxic(name=name, type=kind, stream=stream, toxicity=float(toxicity), attributes=attributes)


def _numbers(attributes: Any) -> dict[str, float]:
    if not isinstance(attributes, dict):
        raise ProxyError("attributes must be an object")
    out = {}
    for key, value in attributes.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ProxyError(f"attribute {key!r} must be a number >= 0")
        out[key] = float(value)
    return out


class _Connection:
    def __init__(self, proxy: _Proxy, client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                 upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        self.proxy = proxy
        self.client, self.upstream = client, upstream
        self.draws: dict[tuple[str, int], bool] = {}  # (toxic name, id(toxic)) -> applies to this connection
        self.seen_at: dict[int, float] = {}  # id(toxic) -> when it first applied here
        self.closed = False

    def applies(self, toxic: Toxic) -> bool:
        key = (toxic.name, id(toxic))
        if key not in self.draws:
            self.draws[key] = toxic.toxicity >= 1 or random.random() < toxic.toxicity  # noqa: S311  # not crypto
            self.seen_at[id(toxic)] = time.monotonic()
        return self.draws[key]

    def active(self, stream: str | None = None, kinds: tuple[str, ...] = TOXIC_TYPES) -> list[Toxic]:
        return [t for t in list(self.proxy.toxics.values())
                if t.type in kinds and (stream is None or t.stream == stream) and self.applies(t)]

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._pump(self.client[0], self.upstream[1], "upstream")),
                 asyncio.create_task(self._pump(self.upstream[0], self.client[1], "downstream")),
                 asyncio.create_task(self._supervise())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            self.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stream: str) -> None:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                return
            while self.active(stream, ("timeout",)):  # stalled: nothing gets through
                await asyncio.sleep(TICK)
            for toxic in self.active(stream, ("latency",)):
                jitter = toxic.attributes.get("jitter", 0)
                delay = toxic.attributes.get("latency", 0) + random.uniform(-jitter, jitter)  # noqa: S311
                if delay > 0:
                    await asyncio.sleep(delay / 1000)
            limits = [t.attributes.get("rate", 0) for t in self.active(stream, ("bandwidth",))]
            rate = min((r for r in limits if r > 0), default=0) * 1024  # bytes per second
            if rate:
                step = max(1, int(rate / 20))
                for start in range(0, len(data), step):
                    piece = data[start:start + step]
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(len(piece) / rate)
            else:
                writer.write(data)
                await writer.drain()

    async def _supervise(self) -> None:
        while not self.closed:
            now = time.monotonic()
            for toxic in self.active(None, ("timeout", "reset_peer")):
                after = toxic.attributes.get("timeout", 0) / 1000
                if toxic.type == "timeout" and after <= 0:
                    continue  # stall until removed (the pumps hold the data)
                if now - self.seen_at.get(id(toxic), now) >= after:
                    if toxic.type == "reset_peer":
                        self.reset()
                    return
            if not self.proxy.enabled:
                return
            await asyncio.sleep(TICK)

    def reset(self) -> None:
        """Close both sides with SO_LINGER 0: the peers see a TCP RST, as from a crashed host."""
        for _, writer in (self.client, self.upstream):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for _, writer in (self.client, self.upstream):
            with contextlib.suppress(Exception):
                writer.close()


class _Proxy:
    def __init__(self, name: str, listen: str, upstream: str, enabled: bool) -> None:
        self.name, self.listen, self.upstream, self.enabled = name, listen, upstream, enabled
        self.toxics: dict[str, Toxic] = {}
        self.server: asyncio.Server | None = None
        self.connections: set[_Connection] = set()

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "listen": self.listen, "upstream": self.upstream, "enabled": self.enabled,
                "toxics": [t.as_dict() for t in self.toxics.values()]}

    async def start(self) -> None:
        host, port = _address(self.listen)
        try:
            self.server = await asyncio.start_server(self._accept, host, port, reuse_address=True)
        except OSError as exc:
            raise ProxyError(f"cannot listen on {self.listen}: {exc}", 409) from None
        bound = self.server.sockets[0].getsockname()
        self.listen = f"{bound[0]}:{bound[1]}"  # port 0 asks for a free one

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for connection in list(self.connections):
            connection.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            host, port = _address(self.upstream)
            upstream = await asyncio.open_connection(host, port)
        except (OSError, ProxyError):
            writer.close()
            return
        connection = _Connection(self, (reader, writer), upstream)
        self.connections.add(connection)
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)


class NetProxy:
    """The proxies and their toxics, on an asyncio loop in a daemon thread; every method is thread-safe."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.proxies: dict[str, _Proxy] = {}
        self.thread = threading.Thread(target=self.loop.run_forever, name="chaos-netproxy", daemon=True)
        self.thread.start()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def _get(self, name: str) -> _Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise ProxyError(f"proxy {name!r} not found", 404)
        return proxy

    # proxies
    def create(self, name: str, *, listen: str, upstream: str, enabled: bool = True) -> dict[str, Any]:
        if not name or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ProxyError("a proxy needs a name of letters, digits, _ . -")
        if name in self.proxies:
            raise ProxyError(f"proxy {name!r} already exists", 409)
        _address(listen), _address(upstream)
        proxy = _Proxy(name, listen, upstream, enabled)
        if enabled:
            self._run(proxy.start())
        self.proxies[name] = proxy
        return proxy.as_dict()

    def get(self, name: str) -> dict[str, Any]:
        return self._get(name).as_dict()

    def all(self) -> dict[str, dict[str, Any]]:
        return {name: proxy.as_dict() for name, proxy in self.proxies.items()}

    def update(self, name: str, *, enabled: bool | None = None, listen: str | None = None,
               upstream: str | None = None) -> dict[str, Any]:
        proxy = self._get(name)
        if upstream is not None:
            _address(upstream)
            proxy.upstream = upstream
        if enabled is False and proxy.enabled:
            proxy.enabled = False
            self._run(proxy.stop())
        if listen is not None and listen != proxy.listen:
            _address(listen)
            if proxy.server is not None:
                self._run(proxy.stop())
            proxy.listen = listen
            if proxy.enabled:
                self._run(proxy.start())
        if enabled is True and not proxy.enabled:
            proxy.enabled = True
            self._run(proxy.start())
        return proxy.as_dict()

    def set_enabled(self, name: str, enabled: bool) -> dict[str, Any]:
        """``down``: disabled (new connections refused, open ones closed); enabled again: back up."""
        return self.update(name, enabled=enabled)

    def delete(self, name: str) -> None:
        proxy = self._get(name)
        self._run(proxy.stop())
        del self.proxies[name]

    def reset(self) -> None:
        for name, proxy in self.proxies.items():
            proxy.toxics.clear()
            if not proxy.enabled:
                self.update(name, enabled=True)

    # toxics
    def add_toxic(self, proxy_name: str, *, type: str, name: str | None = None, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, float] | None = None) -> dict[str, Any]:
        proxy = self._get(proxy_name)
        toxic = _toxic_from({"type": type, "name": name, "stream": stream, "toxicity": toxicity,
                             "attributes": attributes or {}}, set(proxy.toxics))
        proxy.toxics[toxic.name] = toxic
        return toxic.as_dict()

    def toxics(self, proxy_name: str) -> list[dict[str, Any]]:
        return [t.as_dict() for t in self._get(proxy_name).toxics.values()]

    def toxic(self, proxy_name: str, name: str) -> dict[str, Any]:
        toxic = self._get(proxy_name).toxics.get(name)
        if toxic is None:
            raise ProxyError(f"toxic {name!r} not found", 404)
        return toxic.as_dict()

    def update_toxic(self, proxy_name: str, name: str, *, toxicity: float | None = None,
                     attributes: dict[str, float] | None = None) -> dict[str, Any]:
        proxy = self._get(proxy_name)
        old = proxy.toxics.get(name)
        if old is None:
            raise ProxyError(f"toxic {name!r} not found", 404)
        data = {**old.as_dict(), "attributes": {**old.attributes, **(attributes or {})}}
        if toxicity is not None:
            data["toxicity"] = toxicity
        toxic = _toxic_from(data, set(proxy.toxics) - {name})
        proxy.toxics[name] = toxic  # a new object: connections draw its toxicity again
        return toxic.as_dict()

    def remove_toxic(self, proxy_name: str, name: str) -> None:
        if self._get(proxy_name).toxics.pop(name, None) is None:
            raise ProxyError(f"toxic {name!r} not found", 404)

    def close(self) -> None:
        for name in list(self.proxies):
            self.delete(name)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
