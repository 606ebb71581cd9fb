"""The snapshot a FlagClient holds: fetching it over HTTP, checking it, keeping it (in memory and in the
last-known-good file), announcing changes to listeners, and reporting it to the portal by heartbeat.

Split from ``govctl.sdk.client`` so that the client module keeps the lifecycle and the evaluation entry
points; the stream (``govctl.sdk.stream``) feeds snapshots in through the same ``_accept``/``_set_loaded``.
The attributes are set by ``FlagClient.__init__``; they are declared here because these methods read them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from govctl import __version__
from govctl.flags.evaluation import SnapshotError, State
from govctl.flags.snapshot import Keys, signature_problem, write_atomic
from govctl.sdk.readers import HEARTBEAT_PATH, SNAPSHOT_PATH, SnapshotRejected, _FlagReader, _Loaded

ChangeListener = Callable[[Any, Any, "frozenset[str]"], None]  # (old revision, new revision, changed flag keys)

log = logging.getLogger("govctl.sdk")


class _SnapshotHolder(_FlagReader):
    """Fetches, verifies, stores and reports the snapshot (the polling half of FlagClient)."""

    url: str
    token: str
    service: str
    environment: str
    poll_interval: float
    lkg_path: Path
    signing_secret: Keys | None
    timeout: float
    heartbeat_enabled: bool
    capabilities: set[str]
    last_error: str | None
    instance_id: str
    _transport: httpx.BaseTransport | None
    _listeners: list[ChangeListener]
    _loaded: _Loaded | None
    _http: httpx.Client | None
    _lkg_tried: bool
    _last_attempt: float
    _last_heartbeat: float

    def set_signing_keys(self, keys: Keys | None) -> None:
        """Verify from now on with ``keys`` (a key rotation's overlap: the old and the new key, then the new one).
        The snapshot held stays: it verified when it arrived."""
        self.signing_secret = keys

    def on_change(self, listener: ChangeListener) -> None:
        """Call ``listener(old_revision, new_revision, changed_keys)`` whenever a new snapshot is applied
        (from the thread that applied it; keep it short)."""
        self._listeners.append(listener)

    def _set_loaded(self, loaded: _Loaded) -> None:
        old = self._loaded
        self._loaded = loaded
        if old is not None and old.state.raw is loaded.state.raw:
            return
        old_features = {} if old is None else {f["name"]: f for f in old.state.raw.get("features", [])}
        new_features = {f["name"]: f for f in loaded.state.raw.get("features", [])}
        changed = frozenset(k for k in old_features.keys() | new_features.keys()
                            if old_features.get(k) != new_features.get(k))
        if old is not None and not changed and old.state.revision == loaded.state.revision:
            return
        self._last_heartbeat = float("-inf")  # report the applied revision now (propagation receipts)
        for listener in list(self._listeners):
            try:
                listener(None if old is None else old.state.revision, loaded.state.revision, changed)
            except Exception:
                log.exception("flag change listener failed")

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
                self._set_loaded(_Loaded(state, "portal", time.monotonic(), response.headers.get("ETag")))
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


    def _safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception:  # the thread must outlive any surprise; evaluation keeps serving
            log.exception("flag snapshot refresh failed unexpectedly")

    def _accept(self, content: bytes) -> State:
        try:
            body = json.loads(content)
        except ValueError as exc:
            raise SnapshotRejected(f"snapshot is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise SnapshotRejected("snapshot is not a JSON object")
        if self.signing_secret is not None:
            problem = signature_problem(body, self.signing_secret)
            if problem:
                raise SnapshotRejected(problem)
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
            "capabilities": sorted(self.capabilities),
        }
        try:
            self._client().post(HEARTBEAT_PATH, json=payload)
        except httpx.HTTPError as exc:
            log.info("flag heartbeat not sent: %s", exc)
