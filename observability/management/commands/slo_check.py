"""manage.py slo_check [--kind hourly|nightly|manual]: run the SLO checker now (what the schedules run)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from observability import services
from observability.models import SloCheckRun


class Command(BaseCommand):
    help = "Run the SLO checker now: snapshots, burn-rate alerts (and the nightly purge with --kind nightly)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--kind", choices=SloCheckRun.Kind.values, default=SloCheckRun.Kind.MANUAL)

    def handle(self, *args: Any, kind: str, **options: Any) -> None:
        run = services.run_slo_check(kind=kind)
        self.stdout.write(f"{run.kind} check {run.status}: {run.slo_count} SLOs, {run.alerts_opened} alert(s) "
                          f"opened, {run.alerts_resolved} resolved")
        if run.detail:
            self.stdout.write(run.detail)
