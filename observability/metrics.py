"""GET /metrics: what an operator graphs, in Prometheus' text format (the official `prometheus_client`).

Read at scrape time from the database by one custom collector in a fresh registry (no process-global
counters, so every web process answers the same). Other apps' rows are read through `apps.get_model`
(no imports of their internals). Who may scrape: clients in METRICS_ALLOWED_NETWORKS (default: loopback),
or anyone with a valid API token (`Authorization: Bearer …`); everybody else gets 403.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from observability.models import SloAlert, SloSnapshot


class PortalCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from self._slos()
        yield from self._status()
        yield from self._drills()
        yield from self._deployments()
        yield from self._queue()

    def _slos(self) -> Iterator[Metric]:
        remaining = GaugeMetricFamily("governance_slo_budget_remaining_ratio",
                                      "Share of the error budget left at the latest snapshot (negative: overspent).",
                                      labels=["service", "environment", "slo"])
        burn = GaugeMetricFamily("governance_slo_burn_rate", "Burn rate of the latest snapshot per window.",
                                 labels=["service", "environment", "slo", "window"])
        latest = (SloSnapshot.objects.filter(slo__enabled=True).order_by("slo_id", "-taken_at", "-id")
                  .distinct("slo_id").select_related("slo__service", "slo__environment"))
        for snap in latest:
            labels = [snap.slo.service.slug, snap.slo.environment.slug, snap.slo.name]
            if snap.budget_remaining_fraction is not None:
                remaining.add_metric(labels, snap.budget_remaining_fraction)
            for entry in snap.burn_rates or []:
                if isinstance(entry, dict) and entry.get("long_rate") is not None:
                    burn.add_metric([*labels, str(entry.get("long"))], float(entry["long_rate"]))
        alerts = GaugeMetricFamily("governance_slo_alerts_open", "Open SLO alerts by severity.", labels=["severity"])
        for row in SloAlert.objects.filter(resolved_at__isnull=True).values("severity").annotate(n=Count("id")):
            alerts.add_metric([row["severity"]], row["n"])
        yield from (remaining, burn, alerts)

    def _status(self) -> Iterator[Metric]:
        if not apps.is_installed("status"):
            return
        component = apps.get_model("status", "Component")
        incident = apps.get_model("status", "Incident")
        statuses = GaugeMetricFamily("governance_status_components", "Status page components by status.",
                                     labels=["status"])
        for row in component.objects.values("status").annotate(n=Count("id")):
            statuses.add_metric([row["status"]], row["n"])
        open_incidents = GaugeMetricFamily("governance_status_incidents_open", "Open incidents by impact.",
                                           labels=["impact"])
        for impact, n in incident.objects.filter(kind="incident").exclude(
                status__in=["resolved", "postmortem"]).values("impact").annotate(n=Count("id")).values_list(
                "impact", "n"):
            open_incidents.add_metric([impact], n)
        yield from (statuses, open_incidents)

    def _drills(self) -> Iterator[Metric]:
        if not apps.is_installed("recovery"):
            return
        drill = apps.get_model("recovery", "Drill")
        age = GaugeMetricFamily("governance_drill_last_age_seconds", "Seconds since the last finished drill.",
                                labels=["target", "kind", "status"])
        now = timezone.now()
        seen: set[tuple[str, str]] = set()
        for row in drill.objects.filter(finished_at__isnull=False).select_related("target").order_by(
                "target_id", "kind", "-finished_at"):
            key = (row.target.name, row.kind)
            if key in seen or row.finished_at is None:
                continue
            seen.add(key)
            age.add_metric([*key, row.status], (now - row.finished_at).total_seconds())
        yield age

    def _deployments(self) -> Iterator[Metric]:
        if not apps.is_installed("releases"):
            return
        deployment = apps.get_model("releases", "Deployment")
        total = GaugeMetricFamily("governance_deployments", "Deployments by kind and status (promotions, rollbacks).",
                                  labels=["service", "environment", "kind", "status"])
        for row in deployment.objects.values("service__slug", "environment__slug", "kind", "status").annotate(
                n=Count("id")):
            total.add_metric([row["service__slug"], row["environment__slug"], row["kind"], row["status"]], row["n"])
        yield total

    def _queue(self) -> Iterator[Metric]:
        from django_q.models import OrmQ

        depth = GaugeMetricFamily("governance_queue_depth", "Tasks waiting in the ORM broker's queue.")
        oldest = GaugeMetricFamily("governance_queue_oldest_task_age_seconds",
                                   "Age of the oldest queued task (0 when the queue is empty).")
        figures = OrmQ.objects.aggregate(n=Count("id"), first=Min("lock"))
        depth.add_metric([], figures["n"])
        first = figures["first"]
        oldest.add_metric([], max(0.0, (timezone.now() - first).total_seconds()) if first else 0.0)
        yield from (depth, oldest)


def _allowed(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        address = None
    if address is not None and any(address in ipaddress.ip_network(n, strict=False)
                                   for n in settings.METRICS_ALLOWED_NETWORKS):
        return True
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and "\x00" not in header:
        from governance.services import authenticate_secret

        return authenticate_secret(header.removeprefix("Bearer ").strip()) is not None
    return False


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Scrape from an allowed network (METRICS_ALLOWED_NETWORKS) or send a valid API token.\n",
                            status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
