from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from governance.db_roles import role_sql


class Command(BaseCommand):
    help = ("Print (or --apply) the SQL for a migrator role that owns the schema and an application role with DML "
            "on ordinary tables but only SELECT and INSERT on history tables. Re-run after each migrate.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--migrator-role", default="governance_migrator")
        parser.add_argument("--app-role", default="governance_app")
        parser.add_argument("--apply", action="store_true", help="execute the statements (needs a superuser)")

    def handle(self, *args: Any, migrator_role: str, app_role: str, apply: bool, **o: Any) -> None:
        statements = role_sql(migrator=migrator_role, app=app_role, database=connection.settings_dict["NAME"])
        for stmt in statements:
            self.stdout.write(stmt + ";")
        if apply:
            with transaction.atomic(), connection.cursor() as cursor:
                for stmt in statements:
                    cursor.execute(stmt)
            self.stderr.write(self.style.SUCCESS(f"applied {len(statements)} statements"))
        else:
            self.stderr.write("-- dry run: pass --apply to execute; then set passwords with ALTER ROLE … PASSWORD")
