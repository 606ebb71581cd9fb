"""CycloneDX SBOMs of a Python project, built and serialised with cyclonedx-python-lib, and validation of any
tool's CycloneDX JSON against the official schema.

Two sources of components:
- an installed environment: importlib.metadata, read by the target interpreter itself (`python -c …`), so a
  venv is described as it is, not as govctl's own interpreter sees it. Per distribution: name, version, purl
  `pkg:pypi/<normalised name>@<version>`, licences (License-Expression, else a short License field, else the
  licence classifiers), the archive's hash when pip recorded one (direct_url.json) and the sha256 of its
  RECORD file (the list of installed files with their own hashes) as the property `govctl:record-sha256`.
- pinned requirements files: `name==version` (extras and markers allowed), every `--hash=alg:hex` becomes a
  component hash, `-r`/`--requirement` files are followed (relative to the including file, cycles refused).
  Anything else that names a package (`>=`, a bare name, a URL, `-e`) is reported as unpinned, never guessed.

cyclonedx-python-lib is imported inside the functions that need it: `govctl --version` must stay fast.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govctl.errors import GovctlError

SPEC_VERSIONS = ("1.6", "1.5")
RECORD_PROPERTY = "govctl:record-sha256"
SOURCE_PROPERTY = "govctl:source"
_HASH_ALGS = {"sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512", "sha1": "SHA-1", "md5": "MD5"}


def normalise(name: str) -> str:
    """The PyPI name as pip and purls spell it (PEP 503): lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Package:
    name: str
    version: str
    hashes: list[tuple[str, str]] = field(default_factory=list)  # (hashlib name, hex digest)
    licences: list[str] = field(default_factory=list)  # SPDX expression, SPDX id or licence name
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def purl(self) -> str:
        return f"pkg:pypi/{normalise(self.name)}@{self.version}"


@dataclass(frozen=True)
class Unpinned:
    where: str  # file:line
    text: str  # the requirement as written (no hashes)
    why: str


# --- the installed environment -------------------------------------------------------------------------------

_PROBE = r"""
import hashlib, json, sys
from importlib import metadata
seen, out = set(), []
for dist in metadata.distributions():
    meta = dist.metadata
    name = meta["Name"]
    if not name:
        continue
    key = name.lower().replace("_", "-").replace(".", "-")
    if key in seen:  # shadowed on sys.path: the first one is what imports see
        continue
    seen.add(key)
    classifiers = [c for c in (meta.get_all("Classifier") or []) if c.startswith("License ::")]
    record = None
    for path in dist.files or []:
        if path.name == "RECORD" and path.parent.name.endswith(".dist-info"):
            try:
                record = hashlib.sha256(path.locate().read_bytes()).hexdigest()
            except OSError:
                pass
    out.append({"name": name, "version": dist.version, "license_expression": meta.get("License-Expression"),
                "license": meta.get("License"), "classifiers": classifiers, "record_sha256": record,
                "direct_url": dist.read_text("direct_url.json")})
json.dump(out, sys.stdout)
"""


def _licences(expression: str | None, text: str | None, classifiers: list[str]) -> list[str]:
    if expression and expression.strip():
        return [expression.strip()]
    if text and text.strip() and "\n" not in text.strip() and len(text.strip()) <= 100 and \
            text.strip().upper() not in {"UNKNOWN", "NONE"}:
        return [text.strip()]
    return sorted({c.rsplit("::", 1)[-1].strip() for c in classifiers if c.count("::") >= 2})


def _archive_hashes(direct_url: str | None) -> list[tuple[str, str]]:
    """The archive's hash pip recorded for a URL/file install (PEP 610 `archive_info.hashes`)."""
    if not direct_url:
        return []
    try:
        info = json.loads(direct_url).get("archive_info") or {}
    except (ValueError, AttributeError):
        return []
    hashes = dict(info.get("hashes") or {})
    if isinstance(info.get("hash"), str) and "=" in info["hash"]:
        alg, _, value = info["hash"].partition("=")
        hashes.setdefault(alg, value)
    return [(alg, value.lower()) for alg, value in sorted(hashes.items()) if alg in _HASH_ALGS]


def from_environment(python: str | None = None) -> list[Package]:
    """The distributions importable by `python` (default: this interpreter), sorted by normalised name."""
    interpreter = python or sys.executable
    try:
        done = subprocess.run([interpreter, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=120,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GovctlError(f"cannot run {interpreter}: {exc}", exit_code=2) from None
    if done.returncode != 0:
        raise GovctlError(f"{interpreter} could not list its distributions: {done.stderr.strip()[-500:]}",
                          exit_code=2)
    packages = []
    for item in json.loads(done.stdout):
        package = Package(item["name"], item["version"], hashes=_archive_hashes(item.get("direct_url")),
                          licences=_licences(item.get("license_expression"), item.get("license"),
                                             item.get("classifiers") or []))
        if item.get("record_sha256"):
            package.properties[RECORD_PROPERTY] = item["record_sha256"]
        packages.append(package)
    return sorted(packages, key=lambda p: normalise(p.name))


def environment_python(venv: str) -> str:
    for candidate in (Path(venv) / "bin" / "python", Path(venv) / "Scripts" / "python.exe"):
        if candidate.exists():
            return str(candidate)
    raise GovctlError(f"{venv} is not a virtual environment (no bin/python)", exit_code=2)


# --- pinned requirements files -------------------------------------------------------------------------------

_PINNED = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*===?\s*(?P<version>[^\s;,]+)\s*(;.*)?$")
_HASH = re.compile(r"--hash[=\s]+(?P<alg>[a-z0-9]+):(?P<hex>[0-9a-fA-F]+)")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with `\\` continuations joined and comments removed."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            out.append((start, whole))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def from_requirements(paths: list[str]) -> tuple[list[Package], list[Unpinned]]:
    """Pinned packages (first pin of a name wins; a different pin of the same name is an error) and the
    lines that name a package without pinning it."""
    packages: dict[str, Package] = {}
    unpinned: list[Unpinned] = []
    seen_files: set[Path] = set()

    def read(path: Path, chain: tuple[Path, ...]) -> None:
        resolved = path.resolve()
        if resolved in chain:
            raise GovctlError(f"{path}: requirements include themselves ({' -> '.join(map(str, chain))})",
                              exit_code=2)
        if resolved in seen_files:
            return
        seen_files.add(resolved)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise GovctlError(f"cannot read {path}: {exc.strerror or exc}", exit_code=2) from None
        for number, line in _logical_lines(text):
            where = f"{path}:{number}"
            option = re.match(r"^(-r|--requirement)(\s+|=)(?P<file>\S+)$", line)
            if option:
                read(Path(os.path.normpath(path.parent / option["file"])), (*chain, resolved))
                continue
            if re.match(r"^(-c|--constraint)\b", line):
                continue  # constraints limit versions; they install nothing
            if line.startswith("-e") or line.startswith("--editable"):
                unpinned.append(Unpinned(where, line, "editable install: no version to pin"))
                continue
            if line.startswith("-"):
                continue  # --index-url, --find-links …: options, not packages
            hashes = [(m["alg"].lower(), m["hex"].lower()) for m in _HASH.finditer(line) if m["alg"].lower() in
                      _HASH_ALGS]
            requirement = _HASH.sub("", line).strip()
            pinned = _PINNED.match(requirement)
            if not pinned or any(c in pinned["version"] for c in "*<>!~"):
                why = "a URL or path, not a pinned version" if "://" in requirement or "/" in requirement \
                    else "not pinned with =="
                if _NAME.match(requirement) or "://" in requirement or "/" in requirement:
                    unpinned.append(Unpinned(where, requirement, why))
                continue
            key = normalise(pinned["name"])
            existing = packages.get(key)
            if existing is not None:
                if existing.version != pinned["version"]:
                    raise GovctlError(f"{where}: {pinned['name']} is pinned to {pinned['version']} here and to "
                                      f"{existing.version} in {existing.properties[SOURCE_PROPERTY]}", exit_code=1)
                existing.hashes.extend(h for h in hashes if h not in existing.hashes)
                continue
            packages[key] = Package(pinned["name"], pinned["version"], hashes=hashes,
                                    properties={SOURCE_PROPERTY: where})

    for path in paths:
        read(Path(path), ())
    return sorted(packages.values(), key=lambda p: normalise(p.name)), unpinned


# --- CycloneDX -----------------------------------------------------------------------------------------------

def build_json(packages: list[Package], *, name: str, version: str | None, spec_version: str = "1.6") -> str:
    """A CycloneDX JSON document (the library builds the model and serialises it)."""
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion
    from packageurl import PackageURL

    from govctl import __version__

    licences = LicenseFactory()
    bom = Bom()
    root = Component(type=ComponentType.APPLICATION, name=name, version=version, bom_ref=f"root:{name}")
    bom.metadata.component = root
    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="govctl", version=__version__))
    components = []
    for package in packages:
        component = Component(
            type=ComponentType.LIBRARY, name=package.name, version=package.version, bom_ref=package.purl,
            purl=PackageURL(type="pypi", name=normalise(package.name), version=package.version),
            hashes=[HashType(alg=HashAlgorithm(_HASH_ALGS[alg]), content=value) for alg, value in package.hashes],
            licenses=[licences.make_from_string(text) for text in package.licences],
            properties=[Property(name=key, value=value) for key, value in sorted(package.properties.items())],
        )
        bom.components.add(component)
        components.append(component)
    bom.register_dependency(root, components)
    outputter = make_outputter(bom, OutputFormat.JSON, SchemaVersion.from_version(spec_version))
    return outputter.output_as_string(indent=2)


@dataclass(frozen=True)
class Validation:
    spec_version: str | None
    components: int
    errors: list[str]

    @property
    def valid(self) -> bool:
        return not self.errors


def _count_components(components: Any) -> int:
    count, stack = 0, [components]
    while stack:
        items = stack.pop()
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    count += 1
                    stack.append(item.get("components"))
    return count


def validate_json(text: str) -> Validation:
    """Validate CycloneDX JSON from any tool against the official schema of its own specVersion."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonValidator

    try:
        document = json.loads(text)
    except ValueError as exc:
        return Validation(None, 0, [f"not JSON: {exc}"])
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        return Validation(None, 0, ['not a CycloneDX document (bomFormat is not "CycloneDX")'])
    spec = document.get("specVersion")
    try:
        schema = SchemaVersion.from_version(str(spec))
    except (ValueError, TypeError):
        return Validation(str(spec), 0, [f"unknown CycloneDX specVersion {spec!r}"])
    count = _count_components(document.get("components"))
    error = JsonValidator(schema).validate_str(text)
    if error is None:
        return Validation(str(spec), count, [])
    data = error.data
    where = "/".join(str(part) for part in getattr(data, "absolute_path", [])) or "(document)"
    message = getattr(data, "message", str(data))
    return Validation(str(spec), count, [f"{where}: {message}"])
