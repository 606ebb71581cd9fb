"""manage.py slo_import FILE: create or update SLOs from OpenSLO v1 YAML (all or nothing, audited)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from governance import services as core
from observability import openslo, services


class Command(BaseCommand):
    help = "Import SLO definitions from an OpenSLO v1 YAML file ('-' reads stdin). Services must exist."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--reason", default="", help="Why (recorded in the audit trail with the file name).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report, change nothing.")

    def handle(self, *args: Any, file: str, reason: str, dry_run: bool, **options: Any) -> None:
        path = Path(file)
        if file != "-" and not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            text = sys.stdin.read() if file == "-" else path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: cannot read it ({exc})") from None
        try:
            definitions = openslo.load_slos(text)
        except openslo.OpenSloError as exc:
            raise CommandError(f"{file}: {exc}") from None
        why = f"slo_import {file}" + (f": {reason}" if reason else "")
        try:
            with transaction.atomic():
                result = services.import_slos(definitions=definitions, actor=core.system_user(), reason=why)
                if dry_run:
                    transaction.set_rollback(True)
        except ValidationError as exc:
            raise CommandError(f"{file}: {'; '.join(exc.messages)}") from None
        verb = "would be" if dry_run else "were"
        self.stdout.write(f"{len(result.created)} created, {len(result.updated)} updated, "
                          f"{len(result.unchanged)} unchanged ({verb} applied)")
        for label, slos in (("created", result.created), ("updated", result.updated)):
            for slo in slos:
                self.stdout.write(f"  {label}: {slo.service.slug}/{slo.environment.slug}/{slo.name}")
