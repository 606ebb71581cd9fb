"""Signed proofs of an audit export: the trailer that closes every export, and chain checkpoints.

No Django and no database: the portal signs with these functions and an auditor verifies with them
offline (`govctl audit verify`, `manage.py verify_audit`). A document (trailer or checkpoint) is signed
with Ed25519 over its canonical JSON without the `signature` member; it names its key by `key_id`, the
first 32 hex digits of sha256 over the raw 32-byte public key, so a pinned key id also authenticates the
public key a document carries. docs/AUDIT.md describes the format.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from govctl.audit import audit_chain

TRAILER = "audit-trailer"
CHECKPOINT = "audit-checkpoint"
ALGORITHM = "Ed25519"
FORMAT_VERSION = 1
# Verification outcomes (also govctl's exit codes): docs/AUDIT.md.
OK, FAILED, USAGE = 0, 1, 2


class BadKey(ValueError):
    """A key file or key text that is not an Ed25519 key."""


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()[:32]


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public(key)).decode("ascii")


def load_private_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8, unencrypted) or the base64 of its raw 32-byte seed."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError) as exc:
            raise BadKey(f"not a readable PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise BadKey("the PEM key is not an Ed25519 key")
        return key
    return Ed25519PrivateKey.from_private_bytes(_raw32(text, "private key"))


def load_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo) or the base64 of its raw 32 bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except (ValueError, TypeError) as exc:
            raise BadKey(f"not a readable PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise BadKey("the PEM key is not an Ed25519 key")
        return key
    return Ed25519PublicKey.from_public_bytes(_raw32(text, "public key"))


def load_keyring(text: str) -> dict[str, Ed25519PublicKey]:
    """Trusted keys by key id from a key file: a PEM or base64 key, or the portal's published key list
    (`GET /api/v1/audit/public-key`: {"keys": [{"key_id", "public_key"}, …]})."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            published = json.loads(stripped)
            entries = published["keys"]
            keys = [load_public_key(entry["public_key"]) for entry in entries]
        except (ValueError, KeyError, TypeError) as exc:
            raise BadKey(f"not a published key list ({exc})") from None
        return {key_id(k): k for k in keys}
    key = load_public_key(stripped)
    return {key_id(key): key}


def _raw32(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadKey(f"not a PEM or base64 {what}") from None
    if len(raw) != 32:
        raise BadKey(f"a raw Ed25519 {what} has 32 bytes, this one {len(raw)}")
    return raw


def signed_part(document: Mapping[str, Any]) -> bytes:
    return audit_chain.canonical({k: v for k, v in document.items() if k != "signature"}).encode("utf-8")


def sign(document: dict[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """The document with algorithm, key_id, public_key and signature added."""
    public = private_key.public_key()
    body = {**document, "algorithm": ALGORITHM, "key_id": key_id(public), "public_key": public_key_text(public)}
    return {**body, "signature": base64.b64encode(private_key.sign(signed_part(body))).decode("ascii")}


def check_signature(document: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> str:
    """"" when a trusted key signed the document, else the problem."""
    kid = document.get("key_id")
    if document.get("algorithm") != ALGORITHM:
        return f"not signed with {ALGORITHM}"
    if not isinstance(kid, str) or kid not in keys:
        trusted = ", ".join(sorted(keys)) or "none"
        return f"signed by key {kid!r}, which is not a key you trust (trusted: {trusted})"
    signature = document.get("signature")
    try:
        keys[kid].verify(base64.b64decode(str(signature), validate=True), signed_part(document))
    except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        return "bad signature: the signed part was edited, re-signed or its signature swapped"
    return ""


def pinned_keyring(document: Mapping[str, Any], pinned: str) -> dict[str, Ed25519PublicKey]:
    """Trust the public key a document carries only when it hashes to the pinned key id."""
    try:
        key = load_public_key(str(document.get("public_key", "")))
    except BadKey:
        return {}
    return {pinned: key} if key_id(key) == pinned else {}


@dataclass(frozen=True)
class Result:
    ok: bool
    message: str
    line: int | None = None
    trailer: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        return OK if self.ok else FAILED


def _fail(line: int, problem: str) -> Result:
    return Result(False, f"line {line}: {problem}", line)


def verify_export(lines: Iterable[str], *, keys: Mapping[str, Ed25519PublicKey] | None = None,
                  pinned_key_id: str | None = None, checkpoint: Mapping[str, Any] | None = None) -> Result:
    """Check the chain, then the signed trailer that must close the file: its signature by a trusted key
    (`keys`, or the trailer's own key if it hashes to `pinned_key_id`), record count, first/last record and
    head hash. With a signed checkpoint, also that the export holds the whole trail up to it."""
    check = audit_chain.ChainCheck()
    covered_head: str | None = None
    target = checkpoint.get("record_count") if checkpoint is not None else None
    pending: tuple[int, str] | None = None
    number = 0
    for number, raw in enumerate(lines, start=1):
        if pending is not None:
            failed = _record(check, *pending)
            if failed:
                return failed
            if check.count == target:
                covered_head = check.head
        pending = (number, raw)
    if pending is None:
        return _fail(1, "empty file: an export always ends with a signed trailer")
    last_number, raw = pending
    entry, problem = audit_chain.parse_line(raw)
    if entry is None:
        return _fail(last_number, f"{problem} (the last line must be the signed trailer: the file was cut off?)")
    if entry.get("type") != TRAILER:
        problem = check.add(entry)
        if problem:
            return _fail(last_number, problem)
        return _fail(last_number + 1, f"missing trailer: the export was cut off after record {check.count}")
    return _check_trailer(entry, last_number, check, keys or {}, pinned_key_id, checkpoint, covered_head)


def _record(check: audit_chain.ChainCheck, number: int, raw: str) -> Result | None:
    entry, problem = audit_chain.parse_line(raw)
    if entry is not None and entry.get("type") == TRAILER:
        problem = "a trailer before the end of the file: lines were appended after the export ended"
    problem = problem or check.add(entry or {})
    return _fail(number, problem) if problem else None


def _check_trailer(trailer: dict[str, Any], line: int, check: audit_chain.ChainCheck,
                   keys: Mapping[str, Ed25519PublicKey], pinned: str | None,
                   checkpoint: Mapping[str, Any] | None, covered_head: str | None) -> Result:
    trusted = _trusted(trailer, keys, pinned)
    if isinstance(trusted, str):
        return _fail(line, f"trailer {trusted}")
    problem = check_signature(trailer, trusted)
    if problem:
        return _fail(line, f"trailer {problem}")
    count = trailer.get("record_count")
    if count != check.count:
        why = "records were removed (the file was cut and its trailer kept)" if isinstance(count, int) and \
            count > check.count else "records were added"
        return _fail(line, f"the signed trailer counts {count} records, the file has {check.count}: {why}")
    if trailer.get("head_hash") != check.head or _ends(check.first) != trailer.get("first") or \
            _ends(check.last) != trailer.get("last"):
        return _fail(line, "the records do not match the signed trailer's head hash and first/last records: "
                           "records were edited and the chain recomputed (re-chained)")
    message = (f"OK: {check.count} records, chain intact, signed trailer of export {trailer.get('export_id')} "
               f"by {trailer.get('exporter')} at {trailer.get('created_at')} (key {trailer.get('key_id')}), "
               f"head hash {check.head}")
    if checkpoint is not None:
        problem = _check_checkpoint(trailer, checkpoint, check, keys, pinned, covered_head)
        if problem:
            return Result(False, f"checkpoint: {problem}", None, trailer)
        message += (f"; covers checkpoint {checkpoint.get('checkpoint_id')} ({checkpoint.get('record_count')} "
                    f"records up to {checkpoint.get('covers_until')})")
    return Result(True, message, None, trailer)


def trusted_keyring(document: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey],
                    pinned: str | None) -> Mapping[str, Ed25519PublicKey] | str:
    """The keys a signed document (trailer, checkpoint, evidence pack manifest) may be checked with: the keys
    given, or its own key when it hashes to the pinned id; else why it cannot be checked."""
    return _trusted(document, keys, pinned)


def _trusted(document: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey],
             pinned: str | None) -> Mapping[str, Ed25519PublicKey] | str:
    if pinned is not None and document.get("key_id") != pinned:
        return f"signed by key {document.get('key_id')!r}, not the pinned key {pinned!r}"
    if keys:
        return keys
    if pinned is None:
        return "cannot be checked: no trusted key given"
    return pinned_keyring(document, pinned) or f"carries a public key that does not hash to the pinned id {pinned!r}"


def _ends(entry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """How the trailer names its first and last record."""
    if entry is None:
        return None
    return {"seq": entry.get("seq"), "event_id": entry.get("event_id"), "at": entry.get("at"), "hash": entry.get("hash")}


def _check_checkpoint(trailer: Mapping[str, Any], checkpoint: Mapping[str, Any], check: audit_chain.ChainCheck,
                      keys: Mapping[str, Ed25519PublicKey], pinned: str | None, covered_head: str | None) -> str:
    if checkpoint.get("type") != CHECKPOINT:
        return "not a signed audit checkpoint"
    trusted = _trusted(checkpoint, keys, pinned)
    if isinstance(trusted, str):
        return trusted
    problem = check_signature(checkpoint, trusted)
    if problem:
        return problem
    filters = trailer.get("filters") or {}
    narrowed = sorted(k for k, v in filters.items() if v not in (None, "", []) and k != "until")
    if narrowed:
        return f"the export is filtered ({', '.join(narrowed)}): only a full export from the start can cover a checkpoint"
    count = checkpoint.get("record_count")
    if not isinstance(count, int) or count < 0:
        return "the checkpoint has no record count"
    if check.count < count:
        return f"the export has {check.count} records, the checkpoint covers {count}: the export misses records"
    head = audit_chain.GENESIS if count == 0 else covered_head
    if head != checkpoint.get("head_hash"):
        return (f"record {count} of the export does not end in the checkpoint's head hash: the export's first "
                f"{count} records are not the trail the portal checkpointed")
    return ""


def read_lines(path: str) -> Iterable[str]:
    """The file's lines; bytes that are not UTF-8 become U+FFFD, so that line fails its hash and is named."""
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        yield from fh
