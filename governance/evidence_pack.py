"""Evidence packs: one signed zip archive of what an auditor needs for a time range (docs/COMPLIANCE.md).

The sections registered in `hooks.EVIDENCE_SECTIONS` (releases, drills, SLO snapshots, and whatever other apps
register) run in one read-only, repeatable-read transaction: they see one consistent state and PostgreSQL refuses
any write they might attempt. The audit export for the range comes last (`audit_exports.export_audit`, purpose
"evidence-pack"): its AuditExport row is the pack's own audit record (who, when, range, service), the only row a
pack writes, and only once every section has succeeded. The manifest (every file's SHA-256 and size, the range,
the service, the portal version, the generation time) is signed with the audit signing key
(`governance.audit_signing`, one home for keys); `govctl evidence verify` checks the archive offline.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from govctl import __version__
from govctl.audit import audit_proof
from govctl.audit import evidence_pack as pack_format

from governance import audit_exports, audit_signing, hooks
from governance.models import Service

Progress = Callable[[str], None]


class SectionFailed(RuntimeError):
    """A registered section raised or returned something that is not a pack file."""


def json_file(data: Any) -> bytes:
    """A section's JSON file: keys sorted, UTF-8 (not escaped), indented for people; dates in ISO 8601."""
    return (json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2, cls=DjangoJSONEncoder) + "\n").encode()


def rows(queryset: Any, *fields: str) -> list[dict[str, Any]]:
    """A queryset's rows as plain dicts (every concrete field unless named), for json_file."""
    return [dict(row) for row in queryset.values(*fields)]


def validate_range(start: datetime | None, end: datetime | None) -> None:
    if start is None or end is None:
        raise ValidationError({"start": "An evidence pack needs both ends of its range (--from and --to)."})
    if start >= end:
        raise ValidationError({"end": "The end of the range must be after its start."})


def _checked_path(section: str, relative: Any) -> str:
    if not isinstance(relative, str) or not relative or relative.startswith("/") or "\\" in relative or \
            any(part in ("", ".", "..") for part in relative.split("/")):
        raise SectionFailed(f"section {section!r} returned a bad file name {relative!r}")
    return f"{section}/{relative}"


def _sections(start: datetime, end: datetime, service: Service | None, progress: Progress) -> Iterator[tuple[str, bytes]]:
    """Every registered section's files, read in one read-only snapshot of the database."""
    with transaction.atomic():
        if len(connection.savepoint_ids) == 0:  # the outermost block: the transaction is ours to make read-only
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        collected: list[tuple[str, bytes]] = []
        for name in sorted(hooks.EVIDENCE_SECTIONS):
            if name == "audit" or "/" in name:
                raise SectionFailed(f"section name {name!r} is reserved or not a single folder name")
            try:
                files = hooks.EVIDENCE_SECTIONS[name](start=start, end=end, service=service)
            except Exception as exc:
                raise SectionFailed(f"section {name!r} failed: {exc.__class__.__name__}: {exc}") from exc
            for relative, data in sorted(files.items()):
                if not isinstance(data, bytes):
                    raise SectionFailed(f"section {name!r} returned {type(data).__name__} for {relative!r}, not bytes")
                collected.append((_checked_path(name, relative), data))
            progress(f"{name}: {len(files)} files")
    yield from collected


def build_pack(*, actor: Any, start: datetime, end: datetime, service: Service | None, out: IO[bytes],
               progress: Progress | None = None) -> dict[str, Any]:
    """Write the pack (a zip archive) to `out`; return its signed manifest. Raises ValidationError for a bad
    range, SectionFailed when a section fails (nothing is recorded then)."""
    result: dict[str, Any] = {}
    for _ in _write(out, result, actor=actor, start=start, end=end, service=service, progress=progress):
        pass
    return result["manifest"]


def stream_pack(*, actor: Any, start: datetime, end: datetime, service: Service | None) -> Iterator[bytes]:
    """The pack as chunks of bytes while it is built (a download shows its progress from the first section on;
    a long range never leaves the connection idle). The sections run at the first chunk, so a failing
    section raises before anything is sent."""
    sink = _Sink()
    for _ in _write(sink, {}, actor=actor, start=start, end=end, service=service, progress=None):
        chunk = sink.take()
        if chunk:
            yield chunk
    yield sink.take()


class _Sink(io.RawIOBase):
    """A write-only, unseekable file: zipfile then writes each member's sizes after its data (streamable)."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


AUDIT_CHUNK_LINES = 500  # the streamed download is handed this many audit records at a time


def _write(out: IO[bytes] | io.RawIOBase, result: dict[str, Any], *, actor: Any, start: datetime, end: datetime,
           service: Service | None, progress: Progress | None) -> Iterator[None]:
    """Write the pack to `out`, pausing (yield) after each file and every AUDIT_CHUNK_LINES audit records."""
    validate_range(start, end)
    report = progress or (lambda _message: None)
    key = audit_signing.private_key()  # a missing or broken key fails before anything is read
    files: dict[str, dict[str, Any]] = {}
    sections = sorted(hooks.EVIDENCE_SECTIONS)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in _sections(start, end, service, report):
            archive.writestr(path, data)
            files[path] = pack_format.file_entry(data)
            yield
        filters = audit_exports.AuditFilters(since=start, until=end, service=service)
        digest, size, trailer = hashlib.sha256(), 0, ""
        with archive.open(pack_format.AUDIT_EXPORT, "w") as audit_file:
            lines = audit_exports.export_audit(actor=actor, filters=filters, purpose="evidence-pack")
            for number, line in enumerate(lines, start=1):
                data = line.encode("utf-8")
                audit_file.write(data)
                digest.update(data)
                size += len(data)
                trailer = line
                if number % AUDIT_CHUNK_LINES == 0:
                    yield
        files[pack_format.AUDIT_EXPORT] = {"sha256": digest.hexdigest(), "size": size}
        export = json.loads(trailer)
        report(f"audit: {export['record_count']} records, export {export['export_id']}")
        manifest = audit_proof.sign({
            "type": pack_format.MANIFEST_TYPE,
            "version": pack_format.FORMAT_VERSION,
            "range": {"from": start.isoformat(), "to": end.isoformat()},
            "service": service.slug if service else None,
            "portal_version": __version__,
            "generated_at": timezone.now().isoformat(),
            "generated_by": actor.get_username() if actor is not None else "",
            "audit_export_id": export["export_id"],
            "sections": ["audit", *sections],
            "files": files,
        }, key)
        archive.writestr(pack_format.MANIFEST, pack_format.manifest_file(manifest))
    report(f"manifest: {len(files)} files, signed by key {manifest['key_id']}")
    result["manifest"] = manifest
    yield


def pack_name(start: datetime, end: datetime, service: Service | None) -> str:
    return f"evidence-{service.slug if service else 'all'}-{start:%Y%m%d}-{end:%Y%m%d}.zip"
