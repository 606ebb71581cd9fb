from typing import Any

from django.core.management.base import BaseCommand

from governance.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Create or update every django-q2 schedule of the portal (idempotent)."

    def handle(self, *args: Any, **o: Any) -> None:
        for name in ensure_schedules():
            self.stdout.write(f"schedule: {name}")
