"""manage.py slo_seed: give every service its default SLOs in every environment (idempotent, audited)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from governance import services as core
from governance.models import Service
from observability import services


class Command(BaseCommand):
    help = "Create the default SLOs that are missing for any service and environment (e.g. after adding one)."

    def handle(self, *args: Any, **options: Any) -> None:
        actor = core.system_user()
        created = 0
        for service in Service.objects.all():
            created += len(services.seed_default_slos(service=service, actor=actor, reason="slo_seed"))
        self.stdout.write(f"{created} SLO(s) created")
