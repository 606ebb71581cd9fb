"""The flag SDK for governed services: poll the portal's snapshot, evaluate locally, survive outages.

Nothing happens at import. The first evaluation (or an explicit ``start()``) fetches the snapshot
and starts a daemon poller; a forked child notices its new pid and starts its own poller, HTTP
client and instance id (sockets and threads do not survive ``fork``), keeping the inherited
snapshot so that workers of a preforking server answer at once.

Where answers come from, and the reason they carry:

1. The in-process snapshot, confirmed by the portal (200 or 304) within the last poll interval:
   the evaluator's own reason (STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED).
2. The in-process snapshot when the portal has not confirmed it for longer than a poll interval
   (plus the request timeout; the portal is unreachable or refusing us): CACHED.
3. The last-known-good file, when this process never reached the portal: STALE, for flags whose
   declared ``failureMode`` is ``last_known_good`` (the default when a flag declares none).
4. The declared failure mode otherwise (``fail_closed`` → off, ``fail_open`` → on; for flags
   unknown to every layer, the ``failure_modes`` given to the client, else the caller's default):
   ERROR with error code GENERAL.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from govctl import __version__
from govctl.evaluation import ErrorCode, Reason, Result, SnapshotError, State, evaluate
from govctl.snapshot import verify_snapshot, write_atomic
from govctl.variants import DISABLED_VARIANT, Variant

__all__ = ["FlagClient", "SnapshotRejected", "StaticFlagClient", "get_client"]

log = logging.getLogger("govctl.sdk")

SNAPSHOT_PATH = "/api/v1/flags/snapshot"
HEARTBEAT_PATH = "/api/v1/flags/heartbeat"
DEFAULT_POLL_INTERVAL = 300.0  # the portal serves snapshots with Cache-Control: max-age=300


class SnapshotRejected(Exception):
    """The portal answered, but with something we must not use (bad JSON, bad signature...)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Loaded:
    state: State
    source: str  # "portal" or "lkg"
    confirmed_at: float  # time.monotonic() of the last 200/304 (or of loading the file)
    etag: str | None


def _default_lkg_path(service: str, environment: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{service}-{environment}")
    return Path(tempfile.gettempdir()) / f"govctl-flags-{safe}.json"


class _FlagReader:
    """The convenience API, shared by the polling client and the static one."""

    def evaluate(self, key: str, context: Mapping[str, Any] | None = None, default: Any = None) -> Result:
        raise NotImplementedError

    def is_enabled(self, key: str, context: Mapping[str, Any] | None = None, default: bool = False) -> bool:
        result = self.evaluate(key, context, default)
        if result.error_code == ErrorCode.FLAG_NOT_FOUND:
            return default
        return result.enabled

    def get_variant(self, key: str, context: Mapping[str, Any] | None = None) -> Variant:
        return self.evaluate(key, context).variant

    def get_value(self, key: str, context: Mapping[str, Any] | None = None, default: Any = None) -> Any:
        """A boolean flag's state, or a string/number/JSON flag's variant payload; ``default`` on error."""
        result = self.evaluate(key, context, default)
        if result.error_code is not None and result.error_code != ErrorCode.GENERAL:
            return default
        return result.value


class StaticFlagClient(_FlagReader):
    """Evaluates against a fixed snapshot: for tests, local development and bootstrapping."""

    def __init__(self, snapshot: Mapping[str, Any] | State) -> None:
        self.state = snapshot if isinstance(snapshot, State) else State(snapshot)

    def evaluate(self, key: str, context: Mapping[str, Any] | None = None, default: Any = None) -> Result:
        return evaluate(self.state, key, context, default)

    def start(self) -> None:
        """Nothing to start: the snapshot never changes."""

    def stop(self) -> None:
        """Nothing to stop."""


class FlagClient(_FlagReader):
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
        signing_secret: str | bytes | None = None,
        failure_modes: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        background: bool = True,
        heartbeat: bool = True,
        transport: httpx.BaseTransport | None = None,
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
        self._loaded: _Loaded | None = None
        self.last_error: str | None = None
        self._init_process_state()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> FlagClient:
        """Configure from GOVERNANCE_URL, GOVERNANCE_TOKEN, GOVERNANCE_SERVICE, GOVERNANCE_ENVIRONMENT,
        and optionally GOVERNANCE_FLAGS_SECRET, GOVERNANCE_FLAGS_LKG, GOVERNANCE_FLAGS_POLL_INTERVAL."""
        env = os.environ if environ is None else environ
        settings: dict[str, Any] = {
            "url": env.get("GOVERNANCE_URL", ""),
            "token": env.get("GOVERNANCE_TOKEN", ""),
            "service": env.get("GOVERNANCE_SERVICE", ""),
            "environment": env.get("GOVERNANCE_ENVIRONMENT", ""),
            "signing_secret": env.get("GOVERNANCE_FLAGS_SECRET") or None,
            "lkg_path": env.get("GOVERNANCE_FLAGS_LKG") or None,
        }
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
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeout + 1)
        self._thread = None
        self._started = False
        if self._http is not None:
            self._http.close()
            self._http = None

    def _poll_loop(self) -> None:
        pid = os.getpid()
        while not self._stop.wait(self._next_delay()):
            if os.getpid() != pid:
                return
            try:
                self.refresh()
            except Exception:  # the poller must outlive any surprise; evaluation keeps serving
                log.exception("flag snapshot refresh failed unexpectedly")

    def _next_delay(self) -> float:
        loaded = self._loaded
        if loaded is None or loaded.source != "portal" or self.last_error:
            return min(self.poll_interval, 30.0)  # retry sooner while we have nothing fresh
        # a forked child inherits the parent's snapshot and polls when that copy falls due
        return max(0.0, self.poll_interval - (time.monotonic() - loaded.confirmed_at))

    # -- fetching ----------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.url,
                headers={"Authorization": f"Bearer {self.token}", "User-Agent": f"govctl-sdk/{__version__}"},
                timeout=self.timeout,
                transport=self._transport,
            )
        return self._http

    def refresh(self) -> bool:
        """Poll the portal once. True when the snapshot was confirmed (200 or 304)."""
        self._last_attempt = time.monotonic()
        loaded = self._loaded
        headers = {}
        if loaded is not None and loaded.etag and loaded.source == "portal":
            headers["If-None-Match"] = loaded.etag
        try:
            response = self._client().get(
                SNAPSHOT_PATH, params={"service": self.service, "environment": self.environment}, headers=headers
            )
            if response.status_code == 304 and loaded is not None and loaded.source == "portal":
                self._loaded = dataclasses.replace(loaded, confirmed_at=time.monotonic())
            elif response.status_code == 200:
                state = self._accept(response.content)
                self._loaded = _Loaded(state, "portal", time.monotonic(), response.headers.get("ETag"))
                self._save_lkg(response.content)
            else:
                raise SnapshotRejected(f"the portal answered {response.status_code}")
        except (httpx.HTTPError, SnapshotRejected) as exc:
            self.last_error = f"{exc.__class__.__name__}: {exc}"
            log.warning("flag snapshot not refreshed: %s", self.last_error)
            if self._loaded is None:
                self._load_lkg()
            return False
        self.last_error = None
        self._maybe_heartbeat()
        return True

    def _accept(self, content: bytes) -> State:
        try:
            body = json.loads(content)
        except ValueError as exc:
            raise SnapshotRejected(f"snapshot is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise SnapshotRejected("snapshot is not a JSON object")
        if self.signing_secret is not None and not verify_snapshot(body, self.signing_secret):
            raise SnapshotRejected("snapshot signature does not verify")
        try:
            return State(body)
        except SnapshotError as exc:
            raise SnapshotRejected(str(exc)) from None

    def _save_lkg(self, content: bytes) -> None:
        try:
            write_atomic(self.lkg_path, content)
        except OSError as exc:
            log.warning("cannot write last-known-good flags file %s: %s", self.lkg_path, exc)

    def _load_lkg(self) -> None:
        if self._lkg_tried:
            return
        self._lkg_tried = True
        try:
            content = self.lkg_path.read_bytes()
        except OSError:
            return
        try:
            state = self._accept(content)
        except SnapshotRejected as exc:
            log.warning("ignoring last-known-good flags file %s: %s", self.lkg_path, exc)
            return
        self._loaded = _Loaded(state, "lkg", time.monotonic(), None)

    def _maybe_heartbeat(self) -> None:
        now = time.monotonic()
        if not self.heartbeat_enabled or now - self._last_heartbeat < self.poll_interval:
            return
        self._last_heartbeat = now
        loaded = self._loaded
        payload = {
            "instance_id": self.instance_id,
            "service": self.service,
            "environment": self.environment,
            "revision": None if loaded is None else loaded.state.revision,
            "sdk_version": __version__,
        }
        try:
            self._client().post(HEARTBEAT_PATH, json=payload)
        except httpx.HTTPError as exc:
            log.info("flag heartbeat not sent: %s", exc)

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
            return self._failure(
                key, default, None, None, "no snapshot: the portal is unreachable and no last-known-good file"
            )
        if loaded.source == "lkg":
            mode = loaded.state.failure_mode(key)
            if mode == "last_known_good":
                result = evaluate(loaded.state, key, context, default)
                return result if result.error_code else dataclasses.replace(result, reason=Reason.STALE)
            message = (
                "portal unreachable; flag not in the last-known-good file"
                if mode is None
                else (f"portal unreachable; flag declares failure mode {mode}")
            )
            return self._failure(key, default, mode, loaded.state, message)
        result = evaluate(loaded.state, key, context, default)
        if result.error_code is None and time.monotonic() - loaded.confirmed_at > self.poll_interval + self.timeout:
            return dataclasses.replace(result, reason=Reason.CACHED)
        return result

    def _failure(self, key: str, default: Any, mode: str | None, state: State | None, message: str) -> Result:
        mode = mode or self.failure_modes.get(key)
        value_type = state.value_type(key) if state is not None else None
        if mode == "fail_open":
            enabled = True
        elif mode in ("fail_closed", "last_known_good"):
            enabled = False
        else:
            enabled = bool(default)
        if value_type in (None, "boolean") and (default is None or isinstance(default, bool)):
            value: Any = enabled if mode else default
        else:
            value = default
        variant = Variant("disabled", False, enabled) if enabled else DISABLED_VARIANT
        revision = None if state is None else state.revision
        return Result(key, value, enabled, variant, Reason.ERROR, ErrorCode.GENERAL, message, revision)

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
