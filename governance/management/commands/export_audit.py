from __future__ import annotations

import itertools
import sys
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from governance import audit_exports, services
from governance.models import Source


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:  # well formed but no such time, e.g. 2025-02-30
        parsed = None
    if parsed is None:
        raise CommandError(f"not an ISO 8601 date-time: {value!r}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = ("Export the audit trail as hash-chained JSON Lines closed by a signed trailer "
            "(verify offline with `govctl audit verify`, or `manage.py verify_audit`).")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since")
        parser.add_argument("--until")
        parser.add_argument("--actor", default="", help="username")
        parser.add_argument("--model", default="", help="app_label.model, e.g. flags.flagstate")
        parser.add_argument("--service", default="", help="service slug")
        parser.add_argument("--environment", default="", help="environment slug")
        parser.add_argument("--source", default="", choices=["", *Source.values])
        parser.add_argument("--output", "-o", help="file to write (default stdout)")

    def handle(self, *args: Any, since: str | None, until: str | None, output: str | None, **o: Any) -> None:
        try:
            filters = audit_exports.build_filters(
                since=_when(since), until=_when(until),
                **{k: o[k] for k in ("actor", "model", "service", "environment", "source")})
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        lines = audit_exports.export_audit(actor=services.system_user(), filters=filters)
        first = list(itertools.islice(lines, 1))  # the key is loaded here, before any file is opened
        try:
            out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from None
        try:
            count = 0
            for line in itertools.chain(first, lines):
                out.write(line)
                count += 1
        finally:
            if output:
                out.close()
        self.stderr.write(f"exported {count - 1} audit records and the signed trailer")
