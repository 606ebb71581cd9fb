"""Flag snapshots on the wire and on disk: canonical JSON, HMAC signatures, atomic files.

The portal signs each snapshot body: ``signature = HMAC-SHA256(secret, canonical_json(body
without "signature"))`` in lowercase hex. Canonical JSON here means: keys sorted at every level,
no insignificant whitespace, non-ASCII characters left unescaped, encoded as UTF-8. The portal
must sign with ``sign_snapshot`` below so that both ends agree byte for byte.

Signing keys have ids so that they can be rotated without downtime (docs/SECURITY.md, "Rotating the flag
signing key"): the portal puts the id of the key it signs with in the body's ``"kid"`` member, which is part of
what is signed, and an SDK holds a set of keys (id -> secret) during an overlap. A body without ``"kid"``
(signed before keys had ids, or by a portal configured with one unnamed secret) verifies against any key of the
set.
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

__all__ = ["KEY_ID_MEMBER", "apply_delta", "canonical_json", "etag_of", "parse_keys", "sign_snapshot",
           "signature_problem", "snapshot_delta", "verify_snapshot", "write_atomic"]

KEY_ID_MEMBER = "kid"
Secret = str | bytes
Keys = Secret | Mapping[str, Secret]  # one unnamed secret (before key ids) or a key set: id -> secret


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign_snapshot(body: Mapping[str, Any], secret: str | bytes) -> str:
    """The hex HMAC-SHA256 of the body without its "signature" member."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return hmac.new(_key(secret), canonical_json(unsigned), hashlib.sha256).hexdigest()


def parse_keys(text: str) -> dict[str, str]:
    """A key set from ``"kid1:secret1,kid2:secret2"`` (ids: letters, digits, ``.``, ``_``, ``-``). ValueError
    naming the problem; the secrets never appear in it."""
    keys: dict[str, str] = {}
    for number, item in enumerate((part.strip() for part in text.split(",")), start=1):
        if not item:
            continue
        kid, sep, secret = item.partition(":")
        kid = kid.strip()
        if not sep or not kid or not secret:
            raise ValueError(f"entry {number}: expected KEY_ID:SECRET")
        if not all(c.isalnum() or c in "._-" for c in kid) or len(kid) > 64:
            raise ValueError(f"entry {number}: key id {kid[:64]!r} may use only letters, digits, '.', '_', '-' "
                             "(at most 64)")
        if kid in keys:
            raise ValueError(f"entry {number}: key id {kid!r} appears twice")
        keys[kid] = secret
    return keys


def _matches(body: Mapping[str, Any], signature: str, secret: Secret) -> bool:
    return hmac.compare_digest(signature.lower(), sign_snapshot(body, secret))


def signature_problem(body: Mapping[str, Any], keys: Keys) -> str:
    """"" when the body's signature verifies with ``keys``, else what is wrong, in words an operator can act on."""
    signature = body.get("signature")
    if not isinstance(signature, str):
        return "the snapshot carries no signature"
    kid = body.get(KEY_ID_MEMBER)
    if isinstance(keys, str | bytes):
        if _matches(body, signature, keys):
            return ""
        named = f" (it names key {kid!r}: configure the key set, GOVERNANCE_FLAGS_KEYS)" if kid is not None else ""
        return f"snapshot signature does not verify with the configured secret{named}"
    known = ", ".join(sorted(keys)) or "none"
    if kid is None:  # signed before keys had ids: any key of the set may be the one
        if any(_matches(body, signature, secret) for secret in keys.values()):
            return ""
        return f"snapshot without a key id does not verify with any known key (known: {known})"
    if not isinstance(kid, str) or kid not in keys:
        return (f"snapshot signed with key {kid!r}, which this client does not know (known: {known}): add the "
                f"portal's new key to the client's key set before the portal signs with it")
    if _matches(body, signature, keys[kid]):
        return ""
    return f"snapshot signature does not verify with key {kid!r}: the body was altered or the secret differs"


def verify_snapshot(body: Mapping[str, Any], keys: Keys) -> bool:
    return not signature_problem(body, keys)


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
