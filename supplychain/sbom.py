"""CycloneDX JSON SBOMs (1.5, 1.6): validated with cyclonedx-python-lib's JSON schema validator, reduced to the
components the portal stores. No Django."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from supplychain import matching

SPEC_VERSIONS = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}
MAX_COMPONENTS = 20_000


class InvalidSbom(ValueError):
    """An SBOM the portal refuses, with the problem in words (and where, as a JSON path)."""


@dataclass(frozen=True)
class SbomComponent:
    purl: str
    name: str
    version: str
    ecosystem: str
    package: str
    hashes: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedSbom:
    spec_version: str
    serial_number: str
    sha256: str
    components: list[SbomComponent]


def canonical_sha256(document: Mapping[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _walk(components: Any) -> Iterator[Mapping[str, Any]]:
    for component in components or []:
        yield component
        yield from _walk(component.get("components"))  # nested assemblies


def parse(document: Any) -> ParsedSbom:
    """Validate a CycloneDX JSON document against its schema and list its components."""
    if not isinstance(document, Mapping):
        raise InvalidSbom("an SBOM is a CycloneDX JSON object")
    if document.get("bomFormat") != "CycloneDX":
        raise InvalidSbom("bomFormat must be \"CycloneDX\" (CycloneDX JSON 1.5 or 1.6)")
    spec = document.get("specVersion")
    if spec not in SPEC_VERSIONS:
        raise InvalidSbom(f"specVersion {spec!r} is not supported; send CycloneDX 1.5 or 1.6")
    text = json.dumps(document, ensure_ascii=False, allow_nan=False)
    error = JsonStrictValidator(SPEC_VERSIONS[spec]).validate_str(text)
    if error is not None:
        detail = error.data
        where = "/".join(str(p) for p in getattr(detail, "absolute_path", [])) or "(document)"
        message = getattr(detail, "message", str(detail)).splitlines()[0]
        raise InvalidSbom(f"not valid CycloneDX {spec} at {where}: {message[:500]}")
    # metadata.component (the subject: the release itself) is not one of its dependencies
    components = []
    for raw in _walk(document.get("components")):
        purl = str(raw.get("purl") or "")
        ecosystem = package = ""
        if purl:
            try:
                identified = matching.identify(purl)
            except matching.UnknownPackage:
                pass
            else:
                ecosystem, package = identified.package.ecosystem, identified.package.name
        hashes = [{"alg": str(h.get("alg")), "content": str(h.get("content"))} for h in raw.get("hashes") or []]
        components.append(SbomComponent(purl=purl, name=str(raw.get("name") or ""),
                                        version=str(raw.get("version") or ""), ecosystem=ecosystem,
                                        package=package, hashes=hashes))
        if len(components) > MAX_COMPONENTS:
            raise InvalidSbom(f"more than {MAX_COMPONENTS} components")
    return ParsedSbom(spec_version=spec, serial_number=str(document.get("serialNumber") or ""),
                      sha256=canonical_sha256(document), components=components)
