"""Vulnerability database at osv.dev PyPI-export scale: import time, re-import (no-op) time, and matching one
300-component SBOM against the whole database, against a plain loop over every record in the same run.

Usage (creates and keeps its own database, bench_vulndb, next to DATABASE_URL's):
    PYTHONPATH=client DATABASE_URL=postgres://… .venv/bin/python bench/vulndb.py [records]
Goals (issue 17): import < 2 min for ~15,000 records; matching < 1 s.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

CVSS3 = ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N",
         "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"]
CVSS4 = ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"]
ECOSYSTEMS = [("PyPI", 0.6), ("npm", 0.25), ("Go", 0.15)]


def _version(rng: random.Random, ecosystem: str) -> tuple[int, int, int]:
    return rng.randint(0, 9), rng.randint(0, 20), rng.randint(0, 15)


def _text(parts: tuple[int, int, int], ecosystem: str) -> str:
    text = ".".join(map(str, parts))
    return f"v{text}" if ecosystem == "Go" else text


def generate(n: int, seed: int = 17) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """n OSV-shaped records over a pool of packages (several advisories per package, as in real exports)."""
    rng = random.Random(seed)
    pool: dict[str, list[str]] = {eco: [] for eco, _ in ECOSYSTEMS}
    for eco, share in ECOSYSTEMS:
        for i in range(int(4000 * share)):
            name = {"PyPI": f"py-package-{i}", "npm": f"@scope{i % 50}/js-package-{i}",
                    "Go": f"github.com/org{i % 80}/go-module-{i}"}[eco]
            pool[eco].append(name)
    records = []
    for k in range(n):
        eco = rng.choices([e for e, _ in ECOSYSTEMS], [s for _, s in ECOSYSTEMS])[0]
        affected = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            name = rng.choice(pool[eco])
            starts = sorted({_version(rng, eco) for _ in range(rng.choice([1, 1, 2, 3]))})
            events: list[dict[str, str]] = []
            listed: list[str] = []
            for start in starts:
                end = (start[0], start[1] + rng.randint(1, 4), 0)
                events.append({"introduced": "0" if start == (0, 0, 0) else _text(start, eco)})
                if rng.random() < 0.1:
                    events.append({"last_affected": _text((end[0], end[1], 3), eco)})
                else:
                    events.append({"fixed": _text(end, eco)})
                listed += [_text((start[0], start[1] + m, p), eco) for m in range(end[1] - start[1]) for p in (0, 1, 2)]
            entry: dict[str, Any] = {"package": {"ecosystem": eco, "name": name},
                                     "ranges": [{"type": "SEMVER" if eco != "PyPI" else "ECOSYSTEM", "events": events}]}
            if rng.random() < 0.5:
                entry["versions"] = listed
            affected.append(entry)
        record: dict[str, Any] = {
            "schema_version": "1.6.0", "id": f"GHSA-bench-{k:05d}", "modified": "2026-01-01T00:00:00Z",
            "published": "2025-06-01T00:00:00Z", "aliases": [f"CVE-2025-{k:05d}"],
            "summary": f"Issue {k} in {affected[0]['package']['name']}",
            "details": "A crafted request lets an attacker read files outside the intended directory. " * 6,
            "affected": affected,
            "references": [{"type": "ADVISORY", "url": f"https://example.invalid/advisories/{k}"}],
        }
        roll = rng.random()
        if roll < 0.6:
            record["severity"] = [{"type": "CVSS_V3", "score": rng.choice(CVSS3)}]
        elif roll < 0.7:
            record["severity"] = [{"type": "CVSS_V4", "score": rng.choice(CVSS4)}]
        elif roll < 0.9:
            record["database_specific"] = {"severity": rng.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"])}
        if rng.random() < 0.01:
            record["withdrawn"] = "2026-01-01T00:00:00Z"
        records.append(record)
    return records, pool


def sbom(pool: dict[str, list[str]], records: list[dict[str, Any]], size: int = 300, seed: int = 5) -> dict[str, Any]:
    """Half the components name packages with advisories (a quarter at a version an advisory introduced)."""
    rng = random.Random(seed)
    purl_type = {"PyPI": "pypi", "npm": "npm", "Go": "golang"}
    components = []
    for i in range(size):
        eco = rng.choices([e for e, _ in ECOSYSTEMS], [s for _, s in ECOSYSTEMS])[0]
        name = rng.choice(pool[eco]) if i % 2 == 0 else {"PyPI": f"unlisted-{i}", "npm": f"unlisted-{i}",
                                                           "Go": f"example.com/unlisted-{i}"}[eco]
        version = _text(_version(rng, eco), eco)
        if i % 4 == 0:
            record = rng.choice(records)
            entry = record["affected"][0]
            eco, name = entry["package"]["ecosystem"], entry["package"]["name"]
            starts = [e["introduced"] for e in entry["ranges"][0]["events"] if e.get("introduced", "0") != "0"]
            version = starts[0] if starts else _text((0, 0, 1), eco)
        quoted = name.replace("@", "%40")
        purl = f"pkg:{purl_type[eco]}/{quoted}@{version}"
        components.append({"type": "library", "name": name.split("/")[-1], "version": version, "purl": purl,
                           "bom-ref": f"c{i}"})
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}


def main(n: int) -> None:
    settings.DATABASES["default"]["TEST"]["NAME"] = "bench_vulndb"
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)
    from supplychain import matching, queries, services
    from supplychain import sbom as sbom_module
    from supplychain.models import Advisory, AffectedPackage, ImportRun

    AffectedPackage.objects.all().delete()
    Advisory.objects.all().delete()
    ImportRun.objects.all().delete()
    records, pool = generate(n)
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "all.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for record in records:
                z.writestr(f"{record['id']}.json", json.dumps(record))
        print(f"{n} records, {archive.stat().st_size / 1e6:.1f} MB zip, "
              f"{sum(len(r['affected']) for r in records)} affected entries")
        start = time.perf_counter()
        run = services.import_advisories(source=str(archive), trigger="bench", alert=False)
        first = time.perf_counter() - start
        print(f"import: {first:.1f} s ({run.created} new, {run.withdrawn} withdrawn, {run.invalid} invalid); "
              f"goal < 120 s: {'met' if first < 120 else 'NOT met'}")
        start = time.perf_counter()
        again = services.import_advisories(source=str(archive), trigger="bench", alert=False)
        second = time.perf_counter() - start
        print(f"re-import of the unchanged export: {second:.1f} s, {again.created + again.updated} written, "
              f"{again.unchanged} unchanged ({second / first:.2f}x the first import)")

    parsed = sbom_module.parse(sbom(pool, records))
    components = [matching.Identified(matching.Package(c.ecosystem, c.package), c.version, c.purl)
                  for c in parsed.components]
    timings = []
    matching._key.cache_clear()  # the first run parses versions cold, as the baseline does
    for _ in range(5):
        start = time.perf_counter()
        found = matching.match(components, queries.candidates_for({c.package for c in components}))
        timings.append(time.perf_counter() - start)
    cold, indexed = timings[0], sorted(timings)[len(timings) // 2]

    start = time.perf_counter()
    stored = [r for r in Advisory.objects.values_list("record", flat=True).iterator(chunk_size=2000)]
    load = time.perf_counter() - start
    matching._key.cache_clear()
    start = time.perf_counter()
    baseline: set[tuple[str, str]] = set()
    for record in stored:  # the plain loop: every record, every affected entry, every component
        if record.get("withdrawn"):
            continue
        for affected in record.get("affected") or []:
            package = matching.osv_package(affected)
            for component in components:
                if component.package == package and matching.affects(affected, package.ecosystem, component.version):
                    baseline.add((record["id"], component.purl))
    loop = time.perf_counter() - start
    assert baseline == {(m.advisory_id, m.component.purl) for m in found}, "the two ways disagree"
    print(f"matching {len(components)} components against {Advisory.objects.count()} advisories: indexed "
          f"{cold * 1000:.0f} ms cold (first run), {indexed * 1000:.0f} ms median of 5, {len(found)} findings; "
          f"goal < 1 s: {'met' if cold < 1 else 'NOT met'}")
    print(f"baseline plain loop over every record: {loop * 1000:.0f} ms (+ {load * 1000:.0f} ms to load the records); "
          f"ratio loop / indexed (both cold): {loop / cold:.1f}x ({(loop + load) / cold:.1f}x with loading)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15_000)
