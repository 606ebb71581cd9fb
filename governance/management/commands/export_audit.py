from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from governance import services


def _when(value: str | None) -> Any:
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"not an ISO 8601 date-time: {value!r}")
    return parsed


class Command(BaseCommand):
    help = "Export the audit trail as hash-chained JSON Lines (verify with `manage.py verify_audit`)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since")
        parser.add_argument("--until")
        parser.add_argument("--output", "-o", help="file to write (default stdout)")

    def handle(self, *args: Any, since: str | None, until: str | None, output: str | None, **o: Any) -> None:
        lines = services.export_audit(actor=services.system_user(), since=_when(since), until=_when(until))
        out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
        try:
            count = 0
            for line in lines:
                out.write(line)
                count += 1
        finally:
            if output:
                out.close()
        self.stderr.write(f"exported {count} audit records")
