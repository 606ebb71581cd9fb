"""List stored typed SQL that the rules (governance.sql_rules) refuse; exit 1 when there is any.

Run it after deploying the rules: rows written before them are never run silently (each is checked again right
before it runs: a backfill pauses, a verification run fails, a drill's smoke layer fails, with the reason), but
this names them up front so that their owners can rewrite them. It only reads.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

# (model, field): each model's clean() is where its typed-SQL rule is applied.
TYPED_SQL_FIELDS = [("schemaplans.SchemaPlan", "verification_sql"), ("schemaplans.Backfill", "sql"),
                    ("recovery.BackupTarget", "smoke_queries")]


def refused_rows() -> list[tuple[str, int, str, str]]:
    """(model, pk, str(row), why) for every stored row whose typed SQL the rules refuse."""
    found = []
    for label, field in TYPED_SQL_FIELDS:
        model = apps.get_model(label)
        for row in model._default_manager.exclude(**{field: "" if field != "smoke_queries" else []}).order_by("pk"):
            try:
                row.clean()
            except ValidationError as exc:
                messages = exc.message_dict.get(field, []) if hasattr(exc, "error_dict") else []
                if messages:
                    found.append((label, row.pk, str(row), " ".join(messages)))
    return found


class Command(BaseCommand):
    help = "List schema plans, backfills and backup targets whose typed SQL the SQL rules refuse (read-only)."

    def handle(self, *args: Any, **options: Any) -> None:
        rows = refused_rows()
        for label, pk, name, why in rows:
            self.stdout.write(f"{label} #{pk} ({name}): {why}")
        if rows:
            raise CommandError(f"{len(rows)} row(s) hold SQL the rules refuse: rewrite them (they will not run).")
        self.stdout.write("every stored verification query, backfill statement and smoke query passes the rules")
