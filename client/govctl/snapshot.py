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

__all__ = ["canonical_json", "sign_snapshot", "verify_snapshot", "write_atomic"]


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
