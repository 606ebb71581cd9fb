"""Flag snapshots on the wire and on disk: canonical JSON, HMAC signatures, atomic files.

The portal signs each snapshot body: ``signature = HMAC-SHA256(secret, canonical_json(body
without "signature"))`` in lowercase hex. Canonical JSON here means: keys sorted at every level,
no insignificant whitespace, non-ASCII characters left unescaped, encoded as UTF-8. The portal
must sign with ``sign_snapshot`` below so that both ends agree byte for byte.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["apply_delta", "canonical_json", "etag_of", "sign_snapshot", "snapshot_delta", "verify_snapshot",
           "write_atomic"]


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign_snapshot(body: Mapping[str, Any], secret: str | bytes) -> str:
    """The hex HMAC-SHA256 of the body without its "signature" member."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return hmac.new(_key(secret), canonical_json(unsigned), hashlib.sha256).hexdigest()


def verify_snapshot(body: Mapping[str, Any], secret: str | bytes) -> bool:
    signature = body.get("signature")
    if not isinstance(signature, str):
        return False
    return hmac.compare_digest(signature.lower(), sign_snapshot(body, secret))


def etag_of(content: bytes) -> str:
    """The snapshot endpoint's strong ETag (without quotes) of a snapshot's canonical bytes."""
    return hashlib.sha256(content).hexdigest()[:40]


def snapshot_delta(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any] | None:
    """What turns snapshot body ``old`` into ``new``: the changed top-level members and the changed features
    (by name). None when the list of feature names differs (a flag created or archived): send ``new`` whole."""
    old_features, new_features = old.get("features") or [], new.get("features") or []
    if [f.get("name") for f in old_features] != [f.get("name") for f in new_features]:
        return None
    return {"set": {k: v for k, v in new.items() if k != "features" and (k not in old or old[k] != v)},
            "unset": sorted(k for k in old if k not in new),
            "features": {n["name"]: n for n, o in zip(new_features, old_features, strict=True) if n != o}}


def apply_delta(old: Mapping[str, Any], delta: Mapping[str, Any]) -> dict[str, Any]:
    """``old`` with ``delta`` (from snapshot_delta) applied. The caller checks the result's ETag and signature:
    a delta applied to another base than the one it was made from gives another body."""
    unset, changed = set(delta["unset"]), delta["features"]
    body = {k: v for k, v in old.items() if k not in unset}
    body.update(delta["set"])
    body["features"] = [changed.get(feature["name"], feature) for feature in old.get("features") or []]
    return body


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old file or the new one, never half."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
