"""Create the freeze windows of every recurring freeze now (what the hourly job does).

    manage.py materialise_recurring_freezes [--horizon-days 14]
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance.services import system_user
from releases import services
from releases.services.freezes import HORIZON


class Command(BaseCommand):
    help = "Create the missing windows of every recurring freeze up to the horizon, drop stale future ones."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--horizon-days", type=int, default=HORIZON.days)

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["horizon_days"]
        if not 1 <= days <= 90:
            raise CommandError("--horizon-days must be between 1 and 90")
        results = services.materialise_recurring_freezes(
            horizon=timedelta(days=days), actor=system_user(),
            reason=f"command: materialise_recurring_freezes --horizon-days {days}")
        for result in results:
            self.stdout.write(f"{result.rule} (#{result.rule.pk}): {len(result.created)} created, "
                              f"{len(result.updated)} changed, {len(result.removed)} removed")
