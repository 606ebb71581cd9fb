"""Evidence packs: one zip archive an auditor takes away, verified offline (no portal, no database).

The archive holds the section files, the hash-chained audit export (`audit/audit.jsonl`, with its signed
trailer: `govctl.audit.audit_proof`) and `manifest.json`: every other file's SHA-256 and size, the range, the service,
the portal version and the generation time, signed with Ed25519 by the portal's audit signing key (the same
document signature as audit trailers: `audit_proof.sign`). docs/COMPLIANCE.md describes the format.

Verification exit codes: 0 verified; 1 a file was changed, removed or added, or the audit chain is broken;
2 usage (no trusted key, unreadable file); 3 the manifest is not signed by a key you trust (wrong key, or a
manifest edited and its signature no longer matching).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from govctl.audit import audit_proof

MANIFEST = "manifest.json"
MANIFEST_TYPE = "evidence-pack-manifest"
AUDIT_EXPORT = "audit/audit.jsonl"
FORMAT_VERSION = 1
OK, FAILED, USAGE, UNTRUSTED = 0, 1, 2, 3


def file_entry(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def manifest_file(manifest: Mapping[str, Any]) -> bytes:
    """The manifest as stored: indented for people; the signature covers its canonical form, not these bytes."""
    return (json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Problem:
    kind: str  # tampered | missing | extra | audit-chain | signature | damaged
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class PackResult:
    problems: list[Problem] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    audit_message: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        if not self.problems:
            return OK
        return UNTRUSTED if any(p.kind == "signature" for p in self.problems) else FAILED

    def summary(self) -> str:
        if self.problems:
            return "\n".join(f"FAILED ({p.kind}) {p}" for p in self.problems)
        m = self.manifest or {}
        span = m.get("range") or {}
        return (f"OK: {len(m.get('files') or {})} files match the manifest signed by key {m.get('key_id')} at "
                f"{m.get('generated_at')} (range {span.get('from')} to {span.get('to')}, service "
                f"{m.get('service') or 'all'}, portal {m.get('portal_version')}); audit export: {self.audit_message}")


def verify_pack(data: bytes, *, keys: Mapping[str, Ed25519PublicKey] | None = None,
                pinned_key_id: str | None = None) -> PackResult:
    """Check the manifest's signature against a trusted key, then every file against it (hash, size, none
    missing, none extra), then the audit export's chain and trailer. Every problem is listed, not just the first."""
    result = PackResult()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        result.problems.append(Problem("damaged", "(archive)", f"not a readable zip archive ({exc})"))
        return result
    with archive:
        duplicates = sorted({n for n in names if names.count(n) > 1})
        for name in duplicates:
            result.problems.append(Problem("extra", name, "appears more than once in the archive"))
        manifest = _manifest(archive, names, result)
        if manifest is None:
            return result
        result.manifest = manifest
        trusted = audit_proof.trusted_keyring(manifest, keys or {}, pinned_key_id)
        problem = trusted if isinstance(trusted, str) else audit_proof.check_signature(manifest, trusted)
        if problem:
            result.problems.append(Problem("signature", MANIFEST,
                                           f"the manifest's signature does not hold: {problem}"))
        listed: Mapping[str, Any] = manifest.get("files") or {}
        for name in sorted(listed):
            _check_file(archive, names, name, listed[name], result)
        for name in sorted(set(names) - set(listed) - {MANIFEST}):
            result.problems.append(Problem("extra", name, "is in the archive but not in the signed manifest"))
        if AUDIT_EXPORT not in listed:
            result.problems.append(Problem("missing", AUDIT_EXPORT, "the manifest lists no audit export"))
        elif AUDIT_EXPORT in names:
            text = archive.read(AUDIT_EXPORT).decode("utf-8", errors="replace")
            audit = audit_proof.verify_export(text.splitlines(keepends=True), keys=keys, pinned_key_id=pinned_key_id)
            result.audit_message = audit.message
            if not audit.ok:
                result.problems.append(Problem("audit-chain", AUDIT_EXPORT, audit.message))
    return result


def _manifest(archive: zipfile.ZipFile, names: list[str], result: PackResult) -> dict[str, Any] | None:
    if MANIFEST not in names:
        result.problems.append(Problem("missing", MANIFEST, "the archive has no manifest"))
        return None
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        result.problems.append(Problem("damaged", MANIFEST, f"not readable JSON ({exc})"))
        return None
    if not isinstance(manifest, dict) or manifest.get("type") != MANIFEST_TYPE or \
            not isinstance(manifest.get("files"), dict):
        result.problems.append(Problem("damaged", MANIFEST, "not an evidence pack manifest"))
        return None
    return manifest


def _check_file(archive: zipfile.ZipFile, names: list[str], name: str, expected: Any, result: PackResult) -> None:
    if name not in names:
        result.problems.append(Problem("missing", name, "is in the signed manifest but not in the archive"))
        return
    try:
        data = archive.read(name)
    except (zipfile.BadZipFile, OSError) as exc:  # a changed member fails the zip's own CRC check too
        result.problems.append(Problem("tampered", name, f"cannot be read back ({exc})"))
        return
    actual = file_entry(data)
    expected = expected if isinstance(expected, Mapping) else {}
    if actual["sha256"] != expected.get("sha256"):
        result.problems.append(Problem("tampered", name, f"its SHA-256 {actual['sha256']} differs from the "
                                                         f"manifest's {expected.get('sha256')}: the file was changed"))
    elif actual["size"] != expected.get("size"):
        result.problems.append(Problem("tampered", name, f"has {actual['size']} bytes, the manifest says "
                                                         f"{expected.get('size')}"))
