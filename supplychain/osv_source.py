"""Reading OSV records from an export: a directory tree or a .zip of JSON / YAML files (osv.dev's per-ecosystem
`all.zip`, the PyPA advisory database's `vulns/`, the GitHub advisory database's `advisories/`). No Django."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

SUFFIXES = (".json", ".yaml", ".yml")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster on large exports


class SourceError(ValueError):
    """The source itself cannot be read (missing path, not a zip, no records)."""


@dataclass(frozen=True)
class Item:
    name: str
    record: dict[str, Any] | None
    problem: str = ""


def _plain(value: Any) -> Any:
    """YAML turns timestamps into datetimes: back to the OSV text form (RFC 3339, UTC "Z"), so records stay JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _decode(name: str, data: bytes) -> Iterator[Item]:
    try:
        if name.endswith(".json"):
            value: Any = json.loads(data)
        else:
            value = _plain(yaml.load(data, Loader=LOADER))  # noqa: S506 - LOADER is (C)SafeLoader
    except (ValueError, yaml.YAMLError) as exc:
        yield Item(name, None, f"not {'JSON' if name.endswith('.json') else 'YAML'}: {str(exc)[:200]}")
        return
    for record in value if isinstance(value, list) else [value]:
        if not isinstance(record, dict) or not record.get("id") or not record.get("modified"):
            yield Item(name, None, "not an OSV record (needs id and modified)")
        else:
            yield Item(name, record)


def read(source: str | Path) -> Iterator[Item]:
    """Every record in the source, in a stable order; unreadable files become Items with a problem."""
    path = Path(source)
    if not path.exists():
        raise SourceError(f"{path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        for file in files:
            yield from _decode(file.name, file.read_bytes())
        return
    if path.suffix in SUFFIXES:
        yield from _decode(path.name, path.read_bytes())
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise SourceError(f"{path} is neither a directory, a JSON/YAML file nor a zip") from None
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if not info.is_dir() and info.filename.endswith(SUFFIXES):
                yield from _decode(info.filename, archive.read(info))
