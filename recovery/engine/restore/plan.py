"""What a restore drill is asked to do, checked before anything runs: objectives, layers, smoke queries,
the overall deadline and the shadow database's name.

Kept apart from the steps (shadow.py, verify.py) so that every step reads the same deadline and the same
layer names, and a bad argument fails before a database is created.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from recovery.engine import pgtools
from recovery.engine.evidence import format_seconds

# Recovery time objectives in seconds: critical services back within 15 minutes, everything within 4 hours.
DEFAULT_OBJECTIVES: dict[str, float] = {"critical": 15 * 60, "full": 4 * 3600}

LAYERS = ("integrity", "restore", "row_counts", "checksums", "smoke_queries", "recovery_time")

_PREFIX_RE = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


@dataclass
class SmokeQuery:
    """SQL returning one value; a false, zero, NULL or missing value, or an error, fails the drill."""

    name: str
    sql: str


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0

    def statement_timeout_ms(self, cap_seconds: float) -> int:
        left = self.left()
        if left <= 0:
            raise pgtools.StepTimeout(f"overall drill timeout of {format_seconds(self.total)} reached")
        return max(1, int(min(cap_seconds, left) * 1000))


def _as_smoke(query: SmokeQuery | str, index: int) -> SmokeQuery:
    return query if isinstance(query, SmokeQuery) else SmokeQuery(name=f"smoke #{index + 1}", sql=query)


def _shadow_name(prefix: str) -> str:
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"shadow prefix {prefix!r} must be a short lowercase identifier")
    return f"{prefix}_shadow_{secrets.token_hex(4)}"
