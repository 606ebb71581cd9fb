"""`manage.py migrate` with a lock_timeout for the session, so no migration queues traffic behind a lock.

A DDL statement that waits for a lock blocks every query that arrives after it on that table; with
lock_timeout it fails fast instead (rerun the deploy when the table is quieter). Because this runner sets it,
`manage.py lint_migrations` does not ask each migration to set lock_timeout itself (docs/MIGRATIONS.md).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import connections

DEFAULT_LOCK_TIMEOUT = "5s"
_TIMEOUT = re.compile(r"\d{1,7}(ms|s|min)?")


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + f" Sets lock_timeout (default {DEFAULT_LOCK_TIMEOUT}) for the session."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--lock-timeout", default=DEFAULT_LOCK_TIMEOUT,
            help=f"how long a statement may wait for a lock before the migration fails (default {DEFAULT_LOCK_TIMEOUT})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        timeout = options["lock_timeout"]
        if not _TIMEOUT.fullmatch(timeout) or int(re.sub(r"\D", "", timeout)) == 0:
            raise CommandError(f"--lock-timeout must be a positive duration such as 5s or 1500ms, got {timeout!r}")
        connection = connections[options["database"]]
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [timeout])
        try:
            super().handle(*args, **options)
        finally:
            if connection.connection is not None and not connection.needs_rollback:
                with connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")
