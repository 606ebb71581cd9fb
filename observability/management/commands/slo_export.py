"""manage.py slo_export [--service SLUG] [--environment SLUG] [-o FILE]: SLOs as OpenSLO v1 YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance.models import Environment, Service
from observability import openslo
from observability.models import Slo


class Command(BaseCommand):
    help = "Export SLO definitions as OpenSLO v1 YAML (stdout, or --output FILE)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--service", help="Only this service's SLOs.")
        parser.add_argument("--environment", help="Only this environment's SLOs.")
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        parser.add_argument("--include-disabled", action="store_true")

    def handle(self, *args: Any, service: str | None, environment: str | None, output: str | None,
               include_disabled: bool, **options: Any) -> None:
        slos = Slo.objects.select_related("service", "environment").order_by("service__slug", "environment__order",
                                                                             "name")
        if service:
            if not Service.objects.filter(slug=service).exists():
                raise CommandError(f"--service: no service '{service}'")
            slos = slos.filter(service__slug=service)
        if environment:
            if not Environment.objects.filter(slug=environment).exists():
                raise CommandError(f"--environment: no environment '{environment}'")
            slos = slos.filter(environment__slug=environment)
        if not include_disabled:
            slos = slos.filter(enabled=True)
        prometheus = [str(s) for s in slos if s.source == Slo.Source.PROMETHEUS]
        if prometheus:
            self.stderr.write(f"note: {len(prometheus)} Prometheus-sourced SLO(s) are exported with the portal's "
                              "metric source; their PromQL is not part of the OpenSLO document")
        text = openslo.dump_slos(s.definition() for s in slos) if slos else ""
        if output:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"--output: cannot write {output} ({exc.strerror or exc})") from None
            self.stderr.write(f"wrote {len(slos)} SLO(s) to {output}")
        else:
            self.stdout.write(text, ending="")
