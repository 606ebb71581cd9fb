"""`manage.py lint_migrations [app ...] [--format json]`: online-safety and phase rules on Django migrations."""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps as django_apps
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from govctl.migration_lint import RULES

from schemaplans import migration_lint


class Command(BaseCommand):
    help = ("Lint the SQL of every migration of the given apps (default: the project's own) with the declared "
            "expand/contract/neutral phase, and check that each app's migration history is linear.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("apps", nargs="*", metavar="app_label")
        parser.add_argument("--format", choices=("human", "json"), default="human")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, choices=tuple(connections))
        parser.add_argument("--disable", action="append", default=[], metavar="RULE", help="rule id to skip")
        parser.add_argument("--strict", action="store_true", help="warnings fail too")

    def handle(self, *args: str, **options: Any) -> None:
        labels = list(options["apps"]) or migration_lint.PROJECT_APPS
        self.verbosity = options["verbosity"]
        for label in labels:
            try:
                django_apps.get_app_config(label)
            except LookupError:
                raise CommandError(f"no installed app with label {label!r}")
        unknown = sorted(set(options["disable"]) - set(RULES))
        if unknown:
            raise CommandError(f"unknown rule id(s): {', '.join(unknown)}")
        try:
            report = migration_lint.lint_apps(labels, database=options["database"], disabled=options["disable"])
        except ValueError as exc:
            raise CommandError(str(exc))
        failed = report.errors > 0 or (options["strict"] and report.warnings > 0)
        if options["format"] == "json":
            self.stdout.write(json.dumps({**report.to_dict(), "ok": not failed}, indent=2))
        else:
            self._human(report)
        if failed:
            raise CommandError(f"{report.errors} error(s), {report.warnings} warning(s)", returncode=1)

    def _human(self, report: migration_lint.LintReport) -> None:
        for problem in report.problems:
            self.stdout.write(f"error [linear-history] {problem}")
        for item in report.migrations:
            result = item.result
            declared = f"declared {result.declared_phase}" if result.declared_phase else "undeclared"
            plan = f", plan {result.plan_id}" if result.plan_id else ""
            if result.findings or self.verbosity > 1:
                self.stdout.write(f"{item.label}: phase {result.inferred_phase} ({declared}{plan})")
            for finding in result.findings:
                self.stdout.write(f"  {item.label}:{finding.line}: {finding.severity} [{finding.rule}] {finding.message}")
                if finding.detail:
                    self.stdout.write(f"      at: {finding.detail}")
                if finding.statement:
                    self.stdout.write(f"      sql: {finding.statement}")
                self.stdout.write(f"      safe: {finding.safe_alternative}")
        self.stdout.write(f"{report.errors} error(s), {report.warnings} warning(s) in "
                          f"{len(report.migrations)} migration(s)")
