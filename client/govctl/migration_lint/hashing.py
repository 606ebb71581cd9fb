"""A deterministic hash of a set of migration files, stable across checkouts and operating systems."""

from __future__ import annotations

import hashlib
import posixpath
import unicodedata


def normalise_path(path: str) -> str:
    """The relative POSIX form of `path`; absolute paths and `..` are refused so the hash is location-free."""
    text = unicodedata.normalize("NFC", path.replace("\\", "/"))
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise ValueError(f"schema_hash needs relative paths, got {path!r}")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"invalid migration path {path!r}")
    return posixpath.join(*parts)


def normalise_content(content: bytes) -> bytes:
    """Content as the hash sees it: UTF-8 BOM dropped, LF line ends, no trailing blanks, one final newline.

    Editors and git's autocrlf change exactly these bytes without changing the migration.
    """
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    lines = content.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    stripped = [line.rstrip(b" \t") for line in lines]
    while stripped and not stripped[-1]:
        stripped.pop()
    return b"\n".join(stripped) + b"\n" if stripped else b""


def schema_hash(files: dict[str, bytes]) -> str:
    """sha256 (hex) over the sorted relative paths and normalised contents of `files`."""
    normalised: dict[str, bytes] = {}
    for path, content in files.items():
        key = normalise_path(path)
        if key in normalised:
            raise ValueError(f"two files normalise to the same path {key!r}")
        normalised[key] = normalise_content(content)
    digest = hashlib.sha256(b"govctl-schema-hash-v1\n")
    for key in sorted(normalised, key=lambda item: item.encode("utf-8")):
        body = normalised[key]
        encoded = key.encode("utf-8")
        # Length-prefixed fields: no choice of names and contents can make two different sets collide.
        digest.update(b"%d:" % len(encoded) + encoded + b"%d:" % len(body) + body)
    return digest.hexdigest()
