"""`manage.py evidence_pack --from … --to … [--service S] --output F`: one signed archive for an auditor."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance import evidence_pack, services
from governance.management.commands.export_audit import _when
from governance.models import Service


class Command(BaseCommand):
    help = ("Write an evidence pack: the audit export with its chain, releases, approvals and gate decisions, drill "
            "reports, SLO snapshots and every registered section, with a signed manifest (docs/COMPLIANCE.md). "
            "Verify offline with `govctl evidence verify FILE --public-key KEYS.json`.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--from", dest="start", required=True, help="start of the range (ISO 8601, included)")
        parser.add_argument("--to", dest="end", required=True, help="end of the range (ISO 8601, excluded)")
        parser.add_argument("--service", default="", help="service slug (default: every service)")
        parser.add_argument("--output", "-o", required=True, help="the archive to write (.zip)")

    def handle(self, *args: Any, start: str, end: str, service: str, output: str, **options: Any) -> None:
        start_at, end_at = _when(start), _when(end)
        service_row = None
        if service:
            service_row = Service.objects.filter(slug=service).first()
            if service_row is None:
                raise CommandError(f"no service {service!r}")
        target = Path(output)
        try:
            evidence_pack.validate_range(start_at, end_at)
            assert start_at is not None and end_at is not None  # validate_range refuses None
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as out:
                manifest = evidence_pack.build_pack(
                    actor=services.system_user(), start=start_at, end=end_at, service=service_row, out=out,
                    progress=lambda message: self.stderr.write(message))
            os.replace(tmp, target)
        except evidence_pack.SectionFailed as exc:
            raise CommandError(str(exc)) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.stdout.write(f"{target}: {len(manifest['files'])} files, manifest signed by key {manifest['key_id']}")
