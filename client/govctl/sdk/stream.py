"""Following the portal's flag stream (Server-Sent Events): snapshots and deltas applied as they come.

Split from ``govctl.sdk.client``: the client's background thread calls ``_follow_stream`` while the stream
is wanted, and falls back to polling (``govctl.sdk.snapshots``) when it is not there. The attributes are
set by ``FlagClient``; they are declared here because these methods read them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time

import httpx

from govctl import __version__
from govctl.flags import streaming
from govctl.flags.snapshot import apply_delta, canonical_json, etag_of
from govctl.sdk.readers import SnapshotRejected, _Loaded
from govctl.sdk.snapshots import _SnapshotHolder

log = logging.getLogger("govctl.sdk")


class _StreamFollower(_SnapshotHolder):
    """One stream connection at a time, with backoff between failed attempts."""

    stream_url: str
    stream_max_failures: int
    stream_read_timeout: float
    last_stream_error: str | None
    _stop: threading.Event
    _stream_http: httpx.Client | None
    _stream_failures: int
    _stream_retry_at: float

    def _follow_stream(self) -> None:
        """One stream connection, until it ends; then poll, and schedule the next attempt."""
        opened = False
        try:
            opened = self._stream_once()
        except Exception as exc:  # network errors, NotAStream, a rejected snapshot, surprises
            self.last_stream_error = f"{exc.__class__.__name__}: {exc}"
            log.info("flag stream unavailable, polling meanwhile: %s", self.last_stream_error)
        self.streaming = False
        if self._stop.is_set():
            return
        self._stream_failures = 0 if opened else self._stream_failures + 1
        if opened or self._stream_failures >= self.stream_max_failures:
            self._safe_refresh()  # back on polling at once: catch up with what the stream may have missed
        if self._stream_failures >= self.stream_max_failures:
            self._stream_failures = 0
            self._stream_retry_at = time.monotonic() + self.poll_interval
        else:
            self._stream_retry_at = time.monotonic() + streaming.backoff(max(1, self._stream_failures))

    def _stream_once(self) -> bool:
        """Read the stream and apply its events; True when it opened (so a drop is not a failed attempt)."""
        if self._stream_http is None:
            self._stream_http = httpx.Client(
                base_url=self.stream_url,
                headers={"Authorization": f"Bearer {self.token}", "User-Agent": f"govctl-sdk/{__version__}",
                         "Accept": "text/event-stream", "Cache-Control": "no-cache"},
                timeout=httpx.Timeout(self.timeout, read=self.stream_read_timeout),
                transport=self._transport,
            )
        loaded = self._loaded
        headers = {}
        if loaded is not None and loaded.source == "portal" and loaded.etag:
            headers["Last-Event-ID"] = loaded.etag.strip('"')
        opened = False
        with self._stream_http.stream("GET", streaming.STREAM_PATH, headers=headers,
                                      params={"service": self.service, "environment": self.environment}) as response:
            streaming.check_stream(response)
            for event in streaming.read_events(response.iter_lines()):
                if self._stop.is_set():
                    break
                if event.kind == "snapshot":
                    content = event.data.encode("utf-8")
                    state = self._accept(content)
                    self._set_loaded(_Loaded(state, "portal", time.monotonic(), f'"{event.id}"' if event.id else None))
                    self._save_lkg(content)
                elif event.kind == "delta":
                    if not self._apply_delta(event):
                        self.refresh()  # not our base, or it does not verify: take the whole snapshot
                elif event.kind in ("unchanged", "comment"):
                    current = self._loaded
                    if current is None or current.source != "portal":
                        continue  # nothing of the portal's to confirm yet
                    self._loaded = dataclasses.replace(current, confirmed_at=time.monotonic())
                else:
                    continue
                if not opened:
                    opened, self.streaming, self._stream_failures = True, True, 0
                    self.last_error = None
                self._maybe_heartbeat()
        return opened

    def _apply_delta(self, event: streaming.Event) -> bool:
        """Apply a delta event to the held snapshot; False when it does not apply to it or does not verify."""
        loaded = self._loaded
        try:
            delta = json.loads(event.data)
            if loaded is None or loaded.source != "portal" or not loaded.etag or not event.id \
                    or delta.get("base") != loaded.etag.strip('"'):
                return False
            content = canonical_json(apply_delta(loaded.state.raw, delta))
        except (ValueError, TypeError, KeyError, AttributeError):
            return False
        if etag_of(content) != event.id:
            return False
        try:
            state = self._accept(content)
        except SnapshotRejected as exc:
            log.warning("flag stream delta rejected: %s", exc)
            return False
        self._set_loaded(_Loaded(state, "portal", time.monotonic(), f'"{event.id}"'))
        self._save_lkg(content)
        return True
