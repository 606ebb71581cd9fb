"""manage.py vulndb_check --sbom FILE: check any CycloneDX SBOM against the local vulnerability database.

Exit 0: no finding at or above --fail-on. Exit 1: findings at or above it, or the database could not be
consulted (missing or empty: never "all clear"). Exit 2: the SBOM is unreadable or invalid."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from supplychain import matching, queries, sbom, severity
from supplychain.models import Advisory


class Command(BaseCommand):
    help = "Check a CycloneDX JSON SBOM against the local OSV database (offline); a missing database fails."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sbom", required=True, help="a CycloneDX JSON file (1.5 or 1.6)")
        parser.add_argument("--fail-on", default="high", choices=["none", "low", "medium", "high", "critical"],
                            help="the lowest severity that fails the check (default: high)")

    def _fail(self, code: int, message: str) -> None:
        self.stderr.write(message)
        sys.exit(code)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["sbom"])
        try:
            parsed = sbom.parse(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:  # InvalidSbom is a ValueError, as are JSON errors
            self._fail(2, f"vulndb_check: cannot use {path}: {exc}")
        try:
            size = queries.database_size()
        except DatabaseError as exc:
            self._fail(1, f"vulndb_check: FAILED: the vulnerability database could not be consulted ({exc}); "
                          "this is not an all-clear")
        if size == 0:
            self._fail(1, "vulndb_check: FAILED: the vulnerability database is empty (run manage.py vulndb_import "
                          "with an OSV export first); this is not an all-clear")
        components = [matching.Identified(matching.Package(c.ecosystem, c.package), c.version, c.purl)
                      for c in parsed.components if c.ecosystem and c.package and c.version]
        unchecked = len(parsed.components) - len(components)
        matches = matching.match(components, queries.candidates_for({c.package for c in components}))
        ratings = dict(Advisory.objects.filter(osv_id__in={m.advisory_id for m in matches})
                       .values_list("osv_id", "severity_rating"))
        failing = 0
        for m in matches:
            rating = ratings.get(m.advisory_id, "unknown")
            fails = severity.at_least(rating, options["fail_on"])
            failing += fails
            self.stdout.write(f"{'FAIL' if fails else 'warn'} {m.advisory_id} ({rating}) in {m.component.purl}; "
                              f"fixed in {m.fixed or 'no known version'}")
        self.stdout.write(f"{len(components)} component(s) checked against {size} advisories"
                          f"{f', {unchecked} without a purl of a known ecosystem (not checked)' if unchecked else ''}"
                          f": {len(matches)} finding(s), {failing} at or above {options['fail_on']}")
        if failing:
            sys.exit(1)
