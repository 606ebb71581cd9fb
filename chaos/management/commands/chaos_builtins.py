"""Install (or update) the built-in chaos experiments for a service (default: the portal itself).

    manage.py chaos_builtins [--service portal] [--environment preview] --reason "…"
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chaos import builtins
from governance.management.reasons import command_reason
from governance.models import Service
from governance.services import system_user


class Command(BaseCommand):
    help = "Install the built-in chaos experiments (postgres-down, db-latency-300ms, api-errors-5pct, throttle-10pct)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--service", default="portal")
        parser.add_argument("--environment", default="preview", help="the environment the probes read")
        parser.add_argument("--duration", type=float, default=None,
                            help="seconds each method holds its fault (default: each experiment's own)")
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, service: str, environment: str, duration: float | None, reason: str,
               **options: Any) -> None:
        row = Service.objects.filter(slug=service).first()
        if row is None:
            raise CommandError(f"no service {service!r}")
        for experiment in builtins.install(service=row, actor=system_user(), environment=environment,
                                           duration_seconds=duration,
                                           reason=command_reason(reason, "chaos_builtins")):
            self.stdout.write(f"{experiment.key} v{experiment.version}: {experiment.title}")
