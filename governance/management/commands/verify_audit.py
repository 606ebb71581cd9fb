from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from govctl import audit_chain

from governance.models import AuditExport


class Command(BaseCommand):
    help = "Verify an audit export's hash chain; names the first line that was edited, removed, inserted or moved."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, file: str, **o: Any) -> None:
        try:
            # bytes that are not UTF-8 become U+FFFD: that line then fails its hash and is named
            with open(file, encoding="utf-8", errors="replace") as fh:
                verdict = audit_chain.verify(fh)
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}")
        if not verdict.ok:
            raise CommandError(f"{file}: {verdict.message()}")
        issued = AuditExport.objects.filter(head_hash=verdict.head_hash).first()
        self.stdout.write(verdict.message())
        if issued:
            self.stdout.write(f"matches the export issued {issued.created_at:%Y-%m-%d %H:%M}Z by {issued.actor_name}")
        else:
            self.stdout.write(self.style.WARNING(
                "the head hash matches no export issued by this portal: the file may have been re-chained"))
