"""OSV matching: is a package version affected by an advisory? Pure (no Django): the database layer feeds it.

Rules (docs/SUPPLY-CHAIN.md § Matching):
- A component is identified by its purl; the purl type names the OSV ecosystem and the name is normalised as
  that ecosystem does (PyPI: PEP 503; npm: scope/name; Go: the module path; Maven: group:artifact).
- `versions`: exact membership (PyPI compares PEP 440 versions, so 1.0 == 1.0.0; elsewhere the strings).
- `ranges` of type ECOSYSTEM or SEMVER: events introduced / fixed / last_affected / limit evaluated in the
  ecosystem's own ordering (PEP 440 through `packaging` for PyPI; SemVer 2.0.0 through `semver` for npm, Go,
  crates.io and SEMVER ranges). An ecosystem without a known ordering matches by `versions` only.
- `GIT` ranges name commits, not versions: they never make a version affected by themselves (osv.dev lists
  the versions a GIT range covers in `versions`, which is what is matched).
- A version the ordering cannot parse is affected only when `versions` lists it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import semver as semver_lib
from packageurl import PackageURL
from packaging.version import InvalidVersion
from packaging.version import Version as Pep440Version

# purl type -> OSV ecosystem name
PURL_ECOSYSTEMS = {
    "pypi": "PyPI", "npm": "npm", "golang": "Go", "maven": "Maven", "cargo": "crates.io", "gem": "RubyGems",
    "nuget": "NuGet", "composer": "Packagist", "hex": "Hex", "pub": "Pub", "swift": "SwiftURL",
}
SEMVER_ECOSYSTEMS = {"npm", "Go", "crates.io", "Hex", "Pub"}
TIE_ORDER = {"fixed": 0, "last_affected": 1, "introduced": 2}


class UnknownPackage(ValueError):
    """A purl that names no package this matcher can identify."""


@dataclass(frozen=True)
class Package:
    ecosystem: str
    name: str


@dataclass(frozen=True)
class Identified:
    package: Package
    version: str
    purl: str


def normalise_name(ecosystem: str, name: str) -> str:
    """The ecosystem's own name normalisation (the same package, however it is spelled)."""
    if ecosystem == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503
    if ecosystem in ("npm", "NuGet", "Packagist"):
        return name.lower()  # npm names are lowercase; NuGet and Packagist compare case-insensitively
    return name


def identify(purl: str) -> Identified:
    """Package and version from a purl (pkg:pypi/Django@5.2.1 -> PyPI django 5.2.1)."""
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError as exc:
        raise UnknownPackage(f"not a purl: {exc}") from None
    ecosystem = PURL_ECOSYSTEMS.get(parsed.type)
    if ecosystem is None:
        raise UnknownPackage(f"purl type {parsed.type!r} has no OSV ecosystem here")
    if ecosystem == "Maven":
        name = f"{parsed.namespace}:{parsed.name}" if parsed.namespace else parsed.name
    elif parsed.namespace:
        name = f"{parsed.namespace}/{parsed.name}"  # npm @scope/name, Go github.com/x/y, Packagist vendor/name
    else:
        name = parsed.name
    return Identified(Package(ecosystem, normalise_name(ecosystem, name)), parsed.version or "", purl)


def osv_package(affected: Mapping[str, Any]) -> Package | None:
    """The package an OSV `affected` entry names (its purl when it has one, else ecosystem + name)."""
    package = affected.get("package") or {}
    ecosystem = str(package.get("ecosystem") or "").split(":", 1)[0]  # "Debian:11" -> "Debian"
    name = package.get("name")
    if not ecosystem or not name:
        purl = package.get("purl")
        if not purl:
            return None
        try:
            return identify(purl).package
        except UnknownPackage:
            return None
    return Package(ecosystem, normalise_name(ecosystem, str(name)))


# --- orderings ----------------------------------------------------------------------------------------

Key = Any


def _pep440(version: str) -> Key:
    return Pep440Version(version)


def _semver(version: str) -> Key:
    text = version[1:] if version.startswith("v") else version  # Go tags: v1.2.3
    try:
        return semver_lib.Version.parse(text)
    except ValueError:
        # Versions like "1.2" (no patch): SemVer's optional-minor-and-patch reading, prerelease kept.
        return semver_lib.Version.parse(text, optional_minor_and_patch=True)


def ordering(ecosystem: str, range_type: str = "ECOSYSTEM") -> Callable[[str], Key] | None:
    if range_type == "SEMVER" or ecosystem in SEMVER_ECOSYSTEMS:
        return _semver
    if ecosystem == "PyPI":
        return _pep440
    return None


@lru_cache(maxsize=200_000)
def _key(kind: str, version: str) -> Key | None:
    fn = _pep440 if kind == "pep440" else _semver
    try:
        return fn(version)
    except (InvalidVersion, ValueError, TypeError):
        return None


def version_key(ecosystem: str, version: str, range_type: str = "ECOSYSTEM") -> Key | None:
    """The sortable key of `version` in the ecosystem's ordering, or None when it cannot be parsed."""
    fn = ordering(ecosystem, range_type)
    if fn is None:
        return None
    return _key("pep440" if fn is _pep440 else "semver", version)


# --- one affected entry ---------------------------------------------------------------------------------

def in_versions(ecosystem: str, version: str, versions: Iterable[str]) -> bool:
    listed = set(versions)
    if version in listed:
        return True
    if ecosystem == "PyPI":
        key = version_key("PyPI", version)
        return key is not None and any(version_key("PyPI", v) == key for v in listed)
    return False


def in_range(ecosystem: str, version: str, rng: Mapping[str, Any]) -> bool:
    """Whether `version` falls in one OSV range (ECOSYSTEM or SEMVER); GIT ranges never match a version."""
    range_type = str(rng.get("type") or "")
    if range_type not in ("ECOSYSTEM", "SEMVER"):
        return False
    key = version_key(ecosystem, version, range_type)
    if key is None:
        return False
    events: list[tuple[Any, int, str, Any]] = []
    limits = []
    for event in rng.get("events") or []:
        for kind, value in event.items():
            if kind == "introduced" and value == "0":
                events.append((None, -1, kind, None))  # before every version
                continue
            bound = version_key(ecosystem, str(value), range_type)
            if bound is None:
                continue  # an unparseable bound cannot be placed in the ordering
            if kind == "limit":
                limits.append(bound)
            elif kind in TIE_ORDER:
                events.append((bound, TIE_ORDER[kind], kind, bound))
    if limits and not any(key < limit for limit in limits):
        return False
    # Sorted by version, the last event at or below the version decides (the OSV spec's evaluation). At one
    # version a fix sorts before an introduction: "fixed 0.13.0, introduced 0.13.0" (a second affected span
    # starting where the first ended, PYSEC-2022-42972) leaves 0.13.0 affected.
    affected = False
    initial = [e for e in events if e[0] is None]
    placed = sorted((e for e in events if e[0] is not None), key=lambda e: (e[0], e[1]))
    for bound, _, kind, _ in initial + placed:
        if kind == "introduced":
            if bound is None or key >= bound:
                affected = True
        elif kind == "fixed":
            if key >= bound:
                affected = False
        elif kind == "last_affected" and key > bound:
            affected = False
    return affected


def affects(affected: Mapping[str, Any], ecosystem: str, version: str) -> bool:
    """Whether one OSV `affected` entry covers `version`: listed in `versions`, or inside one of its ranges."""
    if not version:
        return False
    if in_versions(ecosystem, version, affected.get("versions") or ()):
        return True
    return any(in_range(ecosystem, version, rng) for rng in affected.get("ranges") or ())


def fixed_versions(affected: Mapping[str, Any]) -> list[str]:
    return [str(e["fixed"]) for rng in affected.get("ranges") or () for e in rng.get("events") or ()
            if "fixed" in e and rng.get("type") != "GIT"]


def fixed_for(affected: Mapping[str, Any], ecosystem: str, version: str) -> str:
    """The lowest fixed version above `version` (what to upgrade to), or "" when none is known."""
    key = version_key(ecosystem, version)
    candidates = []
    for fixed in fixed_versions(affected):
        fixed_key = version_key(ecosystem, fixed)
        if fixed_key is not None and (key is None or fixed_key > key):
            candidates.append((fixed_key, fixed))
    return min(candidates, key=lambda c: c[0])[1] if candidates else ""


# --- many advisories --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    advisory_id: str
    component: Identified
    fixed: str


@dataclass(frozen=True)
class Candidate:
    """One affected entry of one advisory, as the database layer hands it over."""

    advisory_id: str
    package: Package
    affected: Mapping[str, Any]


def match(components: Sequence[Identified], candidates: Iterable[Candidate]) -> list[Match]:
    """Every (advisory, component) where an affected entry of the advisory covers the component's version."""
    by_package: dict[Package, list[Identified]] = {}
    for component in components:
        by_package.setdefault(component.package, []).append(component)
    found: dict[tuple[str, str], Match] = {}
    for candidate in candidates:
        for component in by_package.get(candidate.package, ()):
            if (candidate.advisory_id, component.purl) in found:
                continue
            if affects(candidate.affected, component.package.ecosystem, component.version):
                found[(candidate.advisory_id, component.purl)] = Match(
                    candidate.advisory_id, component,
                    fixed_for(candidate.affected, component.package.ecosystem, component.version))
    return sorted(found.values(), key=lambda m: (m.advisory_id, m.component.purl))


def candidates_of(record: Mapping[str, Any]) -> list[Candidate]:
    """The candidates of one OSV record (none when it is withdrawn)."""
    if record.get("withdrawn"):
        return []
    out = []
    for affected in record.get("affected") or ():
        package = osv_package(affected)
        if package is not None:
            out.append(Candidate(str(record["id"]), package, affected))
    return out
