"""FlagClient: the portal's snapshot followed by stream or poll, evaluated locally (see govctl.sdk).

This module keeps the client's configuration, its lifecycle (start, stop, the background thread, fork
safety) and the evaluation entry points. Fetching and keeping the snapshot lives in
``govctl.sdk.snapshots``, following the stream in ``govctl.sdk.stream``; FlagClient inherits both.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from govctl.flags import degraded
from govctl.flags.evaluation import Result, State
from govctl.flags.faults import NO_FAULTS, Fault, FaultCache
from govctl.flags.snapshot import Keys, parse_keys
from govctl.sdk.readers import DEFAULT_POLL_INTERVAL, _default_lkg_path, _Loaded
from govctl.sdk.snapshots import ChangeListener
from govctl.sdk.stream import _StreamFollower

log = logging.getLogger("govctl.sdk")


class FlagClient(_StreamFollower):
    """Feature flags for one service in one environment, evaluated locally."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        service: str,
        environment: str,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        lkg_path: str | os.PathLike[str] | None = None,
        signing_secret: Keys | None = None,
        failure_modes: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        background: bool = True,
        heartbeat: bool = True,
        transport: httpx.BaseTransport | None = None,
        stream: bool = True,
        stream_url: str | None = None,
        stream_max_failures: int = 3,
        stream_read_timeout: float = 45.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.service = service
        self.environment = environment
        self.poll_interval = float(poll_interval)
        self.lkg_path = Path(lkg_path) if lkg_path else _default_lkg_path(service, environment)
        self.signing_secret = signing_secret
        self.failure_modes = dict(failure_modes or {})
        self.timeout = timeout
        self.background = background
        self.heartbeat_enabled = heartbeat
        self._transport = transport
        # the stream needs the background thread; a proxy may route the stream to its own server
        self.stream = bool(stream) and background
        self.stream_url = (stream_url or url).rstrip("/")
        self.stream_max_failures = max(1, int(stream_max_failures))
        self.stream_read_timeout = float(stream_read_timeout)  # > the portal's heartbeat interval (15 s)
        self._listeners: list[ChangeListener] = []
        self._loaded: _Loaded | None = None
        self._fault_cache = FaultCache()
        self.capabilities: set[str] = set()  # the chaos hooks loaded in this process (reported by the heartbeat)
        self.last_error: str | None = None
        self.last_stream_error: str | None = None
        self._init_process_state()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> FlagClient:
        """Configure from GOVERNANCE_URL, GOVERNANCE_TOKEN, GOVERNANCE_SERVICE, GOVERNANCE_ENVIRONMENT,
        and optionally GOVERNANCE_FLAGS_KEYS ("kid1:secret1,kid2:secret2": the portal's signing keys; during a
        rotation both), GOVERNANCE_FLAGS_SECRET (one unnamed key, deprecated), GOVERNANCE_FLAGS_LKG, GOVERNANCE_FLAGS_POLL_INTERVAL,
        GOVERNANCE_FLAGS_STREAM (off/0/false: poll only), GOVERNANCE_FLAGS_STREAM_URL."""
        env = os.environ if environ is None else environ
        settings: dict[str, Any] = {
            "url": env.get("GOVERNANCE_URL", ""),
            "token": env.get("GOVERNANCE_TOKEN", ""),
            "service": env.get("GOVERNANCE_SERVICE", ""),
            "environment": env.get("GOVERNANCE_ENVIRONMENT", ""),
            "signing_secret": _signing_keys(env),
            "lkg_path": env.get("GOVERNANCE_FLAGS_LKG") or None,
        }
        if env.get("GOVERNANCE_FLAGS_STREAM"):
            settings["stream"] = env["GOVERNANCE_FLAGS_STREAM"].strip().lower() not in ("0", "off", "false", "no")
        if env.get("GOVERNANCE_FLAGS_STREAM_URL"):
            settings["stream_url"] = env["GOVERNANCE_FLAGS_STREAM_URL"]
        if env.get("GOVERNANCE_FLAGS_POLL_INTERVAL"):
            settings["poll_interval"] = float(env["GOVERNANCE_FLAGS_POLL_INTERVAL"])
        settings.update(overrides)
        missing = [k for k in ("url", "token", "service", "environment") if not settings[k]]
        if missing:
            names = ", ".join(f"GOVERNANCE_{k.upper()}" for k in missing)
            raise ValueError(f"flag SDK not configured: set {names}")
        return cls(**settings)

    # -- lifecycle ---------------------------------------------------------------------------

    def _init_process_state(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None
        self._stream_http: httpx.Client | None = None
        self._stream_failures = 0
        self._stream_retry_at = 0.0
        self.streaming = False  # True while an open stream is confirming the snapshot
        self._started = False
        self._lkg_tried = False
        self._last_attempt = float("-inf")
        self._last_heartbeat = float("-inf")
        self.instance_id = f"{self.service}:{os.getpid()}:{uuid.uuid4().hex[:12]}"

    def _ensure(self) -> None:
        if self._pid != os.getpid():
            # A forked child: the parent's poller thread and sockets did not come along.
            self._init_process_state()
        if not self._started:
            self.start()
        elif not self.background and time.monotonic() - self._last_attempt >= self.poll_interval:
            self.refresh()

    def start(self) -> None:
        """Fetch the snapshot now (unless one from the portal is at hand) and start polling. Idempotent."""
        if self._pid != os.getpid():
            self._init_process_state()
        # Held through the first fetch so that concurrent first requests wait for it rather than
        # answering from nothing.
        with self._lock:
            if self._started:
                return
            if self._loaded is None or self._loaded.source != "portal":
                self.refresh()
            if self.background:
                self._stop.clear()
                thread = threading.Thread(target=self._poll_loop, name="govctl-flags-poller", daemon=True)
                self._thread = thread
                thread.start()
            self._started = True

    def stop(self) -> None:
        """Stop polling and close the HTTP client (evaluation keeps using the current snapshot)."""
        self._stop.set()
        if self._stream_http is not None:
            self._stream_http.close()  # interrupts a blocking read of the stream
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout + 1)
        self._thread = None
        self._started = False
        self.streaming = False
        for name in ("_http", "_stream_http"):
            http = getattr(self, name)
            if http is not None:
                http.close()
                setattr(self, name, None)

    def _poll_loop(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set() and os.getpid() == pid:
            if self.stream and time.monotonic() >= self._stream_retry_at:
                self._follow_stream()
                continue
            delay = self._next_delay()
            if self.stream:
                delay = min(delay, max(0.0, self._stream_retry_at - time.monotonic()))
            if self._stop.wait(delay) or os.getpid() != pid:
                return
            if self._next_delay() <= 0.001:
                self._safe_refresh()

    def _next_delay(self) -> float:
        loaded = self._loaded
        if loaded is None or loaded.source != "portal" or self.last_error:
            return min(self.poll_interval, 30.0)  # retry sooner while we have nothing fresh
        # a forked child inherits the parent's snapshot and polls when that copy falls due
        return max(0.0, self.poll_interval - (time.monotonic() - loaded.confirmed_at))

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, key: str, context: Mapping[str, Any] | None = None, default: Any = None) -> Result:
        """The full result for ``key``: value, variant, reason, error code, revision. Never raises."""
        try:
            return self._evaluate(key, context, default)
        except Exception as exc:  # a flag check must not take the request down with it
            log.exception("flag evaluation failed for %r", key)
            state = None if self._loaded is None else self._loaded.state
            mode = None if state is None else state.failure_mode(key)
            return self._failure(key, default, mode, state, f"evaluation failed: {exc.__class__.__name__}: {exc}")

    def _evaluate(self, key: str, context: Mapping[str, Any] | None, default: Any) -> Result:
        self._ensure()
        loaded = self._loaded
        if loaded is None:
            freshness = degraded.FALLBACK
        elif loaded.source == "lkg":
            freshness = degraded.FALLBACK
        elif time.monotonic() - loaded.confirmed_at > self.poll_interval + self.timeout:
            freshness = degraded.CACHED
        else:
            freshness = degraded.FRESH
        why = ("no snapshot: the portal is unreachable and no last-known-good file" if loaded is None
               else "portal unreachable")
        return degraded.answer(None if loaded is None else loaded.state, key, context, default,
                               freshness=freshness, why=why, fallback_mode=self.failure_modes.get(key))

    def _failure(self, key: str, default: Any, mode: str | None, state: State | None, message: str) -> Result:
        return degraded.failure_answer(key, default, mode or self.failure_modes.get(key), state, message)

    def active_faults(self, now: float | None = None) -> tuple[Fault, ...]:
        """The chaos faults of the held snapshot (portal's or last-known-good) that have not expired by this
        host's clock. Never raises: chaos must not take the request down in ways it did not mean to."""
        try:
            loaded = self._loaded
            if loaded is None:
                self._ensure()  # else evaluation keeps the snapshot fresh: the fast path is a few attribute reads
                loaded = self._loaded
            return self._fault_cache.active(None if loaded is None else loaded.state.raw, now)
        except Exception:
            log.exception("reading chaos faults failed")
            return NO_FAULTS

    @property
    def revision(self) -> Any:
        loaded = self._loaded
        return None if loaded is None else loaded.state.revision

    @property
    def source(self) -> str | None:
        """Where the current snapshot came from: "portal", "lkg", or None."""
        loaded = self._loaded
        return None if loaded is None else loaded.source


_default_client: FlagClient | None = None
_default_lock = threading.Lock()


def get_client() -> FlagClient:
    """The process-wide client configured from the environment (created on first call)."""
    global _default_client
    if _default_client is None:
        with _default_lock:
            if _default_client is None:
                _default_client = FlagClient.from_env()
    return _default_client


def _signing_keys(env: Mapping[str, str]) -> Keys | None:
    """The keys snapshots must be signed with: the key set GOVERNANCE_FLAGS_KEYS, else the one unnamed secret
    GOVERNANCE_FLAGS_SECRET (deprecated: it cannot follow a key rotation without a restart at the right time)."""
    if env.get("GOVERNANCE_FLAGS_KEYS"):
        try:
            keys = parse_keys(env["GOVERNANCE_FLAGS_KEYS"])
        except ValueError as exc:
            raise ValueError(f"GOVERNANCE_FLAGS_KEYS: {exc}") from None
        if env.get("GOVERNANCE_FLAGS_SECRET"):
            raise ValueError("set GOVERNANCE_FLAGS_KEYS or GOVERNANCE_FLAGS_SECRET, not both")
        return keys
    return env.get("GOVERNANCE_FLAGS_SECRET") or None
