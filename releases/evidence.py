"""A release's evidence as canonical JSON and its sha256 digest (what approvals sign). No Django here.

Canonical JSON: keys sorted, no insignificant whitespace, UTF-8 without escaping, no NaN/Infinity; times
in UTC ISO 8601. The same evidence always hashes the same, on the portal and on a laptop.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

EVIDENCE_FIELDS = ("service", "version", "tag", "build_sha", "schema_hash", "pr_url", "author", "channel",
                   "commits", "changelog", "artifacts", "bump_policy")
MAX_CANONICAL_BYTES = 2_000_000


class EvidenceError(ValueError):
    """Evidence that cannot be hashed canonically (e.g. NaN, or too large)."""


def canonical_json(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise EvidenceError(f"evidence must be plain JSON: {exc}") from None


def utc_iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise EvidenceError("commit times need a time zone")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def normalise_commits(commits: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Commits in the stored shape: {sha, message, author, time (UTC ISO or None), pr_url}."""
    out = []
    for commit in commits:
        moment = commit.get("time")
        out.append({
            "sha": commit["sha"],
            "message": commit["message"],
            "author": commit.get("author") or "",
            "time": utc_iso(moment) if isinstance(moment, datetime) else moment,
            "pr_url": commit.get("pr_url") or "",
        })
    return out


def digest(evidence: Mapping[str, Any]) -> str:
    missing = [name for name in EVIDENCE_FIELDS if name not in evidence]
    if missing:
        raise EvidenceError(f"evidence lacks {', '.join(missing)}")
    text = canonical_json({name: evidence[name] for name in EVIDENCE_FIELDS}).encode("utf-8")
    if len(text) > MAX_CANONICAL_BYTES:
        raise EvidenceError(f"evidence is {len(text)} bytes as canonical JSON; the limit is {MAX_CANONICAL_BYTES}")
    return hashlib.sha256(text).hexdigest()
