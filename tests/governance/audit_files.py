"""Shared by the audit export tests: a small real export, the portal's published keys, lines as dicts."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command
from django.utils import timezone

from governance import audit_exports, services


def make_small_export(tmp_path: Path, actor, system_user, **filters) -> Path:
    """A service renamed once and given three owners after `since`: five records, then the signed trailer."""
    service = services.create_service(slug="shop", name="Shop", actor=system_user, reason="export fixture")
    since = timezone.now()
    service.name = "Shop (renamed)"
    services.save_audited(instance=service, actor=system_user, reason="rename", update_fields=["name"])
    for i in range(4):
        service.owners = f"team-{i}"
        services.save_audited(instance=service, actor=actor, reason=f"owner change {i}", update_fields=["owners"])
    path = tmp_path / "audit.jsonl"
    call_command("export_audit", output=str(path), since=since.isoformat(), **filters)
    return path


def write_keys(tmp_path: Path, name: str = "keys.json") -> Path:
    """The portal's published key list, as an auditor saves it from GET /api/v1/audit/public-key."""
    path = tmp_path / name
    path.write_text(json.dumps({"keys": audit_exports.published_keys()}))
    return path


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write(path: Path, entries: list[dict]) -> None:
    path.write_text("".join(json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
                            for e in entries))
