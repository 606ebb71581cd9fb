"""`manage.py schema_hash [app ...] [--format json]`: a deterministic hash of the migration files."""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps as django_apps
from django.core.management.base import BaseCommand, CommandError

from schemaplans import migration_lint


class Command(BaseCommand):
    help = ("sha256 over the sorted (app, migration name, normalised migration file) of every migration "
            "(or of the given apps): the same code gives the same hash, any migration change another.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("apps", nargs="*", metavar="app_label")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: str, **options: Any) -> None:
        for label in options["apps"]:
            try:
                django_apps.get_app_config(label)
            except LookupError:
                raise CommandError(f"no installed app with label {label!r}")
        digest, entries = migration_lint.schema_hash(options["apps"] or None)
        if options["format"] == "json":
            self.stdout.write(json.dumps({"schema_hash": digest, "migrations": entries}, indent=2))
        else:
            self.stdout.write(digest)
