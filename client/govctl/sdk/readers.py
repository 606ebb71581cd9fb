"""What the SDK's clients share: the evaluation API, the static client, the held snapshot."""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from govctl.flags.evaluation import ErrorCode, Result, State, evaluate
from govctl.flags.faults import Fault, FaultCache
from govctl.flags.variants import Variant

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
        self._fault_cache = FaultCache()
        self.capabilities: set[str] = set()

    def active_faults(self, now: float | None = None) -> tuple[Fault, ...]:
        """The snapshot's chaos faults that have not expired (by this host's clock)."""
        return self._fault_cache.active(self.state.raw, now)

    def evaluate(self, key: str, context: Mapping[str, Any] | None = None, default: Any = None) -> Result:
        return evaluate(self.state, key, context, default)

    def start(self) -> None:
        """Nothing to start: the snapshot never changes."""

    def stop(self) -> None:
        """Nothing to stop."""
