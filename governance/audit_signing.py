"""The portal's audit signing key: from AUDIT_SIGNING_KEY (production), else a file generated once (development).

The private key never reaches the database; its public half is recorded in AuditSigningKey the first
time it signs, so files signed before a rotation still verify (docs/AUDIT.md).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from govctl.audit import audit_proof


@functools.cache
def _cached(configured: str, path: str) -> Ed25519PrivateKey:
    if configured:
        try:
            return audit_proof.load_private_key(configured)
        except audit_proof.BadKey as exc:
            raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY: {exc}") from None
    return _development_key(Path(path))


def private_key() -> Ed25519PrivateKey:
    return _cached(settings.AUDIT_SIGNING_KEY, str(settings.AUDIT_SIGNING_KEY_FILE))


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def _development_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        # Written aside, then linked into place: two processes starting together keep one whole key.
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    try:
        return audit_proof.load_private_key(path.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError, audit_proof.BadKey) as exc:
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY_FILE {path}: {exc}") from None
