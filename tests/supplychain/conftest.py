"""Fixtures for the supply-chain tests: CycloneDX documents, OSV records, registered releases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from releases import services as release_services
from tests.releases.conftest import COMMITS, gate_policy, register, second_manager  # noqa: F401 - shared fixtures


def cyclonedx(*purls: str, spec: str = "1.6") -> dict[str, Any]:
    components = []
    for purl in purls:
        name, version = purl.split("/")[-1].split("@")
        components.append({"type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl,
                           "hashes": [{"alg": "SHA-256", "content": "ab" * 32}]})
    return {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1,
            "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "components": components}


def osv(osv_id: str, package: str, *, introduced: str = "0", fixed: str | None = None,
        modified: str = "2026-01-01T00:00:00Z", severity: str | None = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        ecosystem: str = "PyPI", versions: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    events: list[dict[str, str]] = [{"introduced": introduced}]
    if fixed:
        events.append({"fixed": fixed})
    affected: dict[str, Any] = {"package": {"ecosystem": ecosystem, "name": package},
                                "ranges": [{"type": "ECOSYSTEM", "events": events}]}
    if versions is not None:
        affected["versions"] = versions
    record: dict[str, Any] = {"id": osv_id, "modified": modified, "summary": f"{osv_id} in {package}",
                              "affected": [affected], **extra}
    if severity:
        record["severity"] = [{"type": "CVSS_V3", "score": severity}]
    return record


def write_records(folder: Path, *records: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        (folder / f"{record['id']}.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


@pytest.fixture
def register_with_sbom(system_user, service):
    def make(version: str = "1.0.0", *purls: str, svc=None, **fields: Any):
        artifacts = dict(fields.pop("artifacts", {}), sbom=cyclonedx(*purls))
        result = release_services.register_release(
            service=svc or service, version=version, build_sha="c0ffee" + "0" * 34, commits=COMMITS,
            artifacts=artifacts, actor=system_user, reason="test release", **fields)
        return result.release

    return make
