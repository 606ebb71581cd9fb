"""manage.py vulndb_import PATH: import an OSV export (directory or zip, JSON or YAML) into the local database."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from supplychain import services
from supplychain.models import ImportRun


class Command(BaseCommand):
    help = ("Import OSV advisories from a directory or a zip of JSON/YAML records (osv.dev export, PyPA advisory "
            "database, GitHub advisory database). Incremental by `modified`; withdrawn records are retracted.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a directory, a .zip, or one .json/.yaml record")
        parser.add_argument("--no-alerts", action="store_true",
                            help="do not alert on new findings in live releases (first load of a database)")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(run: ImportRun) -> None:
            if options["verbosity"] >= 1:
                self.stderr.write(f"… {run.read} read ({run.created} new, {run.updated} updated, "
                                  f"{run.unchanged} unchanged) in {time.monotonic() - started:.1f}s")

        try:
            run = services.import_advisories(source=options["path"], trigger="command", progress=progress,
                                             alert=not options["no_alerts"])
        except services.ImportBusy as exc:
            raise CommandError(str(exc)) from None
        for problem in run.problems[:20]:
            self.stderr.write(f"skipped {problem}")
        if run.error:
            raise CommandError(run.error)
        self.stdout.write(f"{run.read} record(s) read in {time.monotonic() - started:.1f}s: {run.created} new, "
                          f"{run.updated} updated, {run.withdrawn} withdrawn, {run.unchanged} unchanged, "
                          f"{run.invalid} invalid; {run.alerts} alert(s) sent")
