"""Halt all chaos: remove every active fault everywhere, with a reason — with or without the database.

    manage.py chaos_halt --reason "drill misbehaving, INC-42" [--actor USERNAME]

With the database up the faults are removed at once (history with actor and reason) and every SDK drops
them within seconds. With it down, a break-glass entry is written next to the last-known-good snapshots
(flags.breakglass): every portal process reading that directory serves its snapshots without faults at
once, and the halt is recorded when the database is back (the replay job, the next snapshot build, or
`manage.py flags_break_glass replay`). Run it on every portal machine when FLAGS_LKG_DIR is not shared.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError

from chaos import services
from governance.management.reasons import command_reason


class Command(BaseCommand):
    help = "Remove every active chaos fault everywhere (works with the database down: break-glass)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reason", required=True)
        parser.add_argument("--actor", help="portal username to record (default: the system user)")

    def handle(self, *args: Any, reason: str, actor: str | None = None, **options: Any) -> None:
        reason = command_reason(reason, "chaos_halt")
        try:
            from governance.services import system_user

            user = get_user_model().objects.filter(username=actor).first() if actor else system_user()
            if user is None:
                raise CommandError(f"no portal user {actor!r}")
            removed = services.halt_all(actor=user, reason=reason)
        except (OperationalError, InterfaceError) as exc:
            entry = services.halt_all_break_glass(reason=reason, actor_username=actor)
            self.stdout.write(f"database unreachable ({exc.__class__.__name__}): break-glass halt {entry['id']} "
                              "written; snapshots carry no fault from now on, recorded when the database is back")
            return
        self.stdout.write(f"halted: {len(removed)} fault(s) removed ({', '.join(str(f.pk) for f in removed) or '-'})")
