"""GET /metrics: what an operator graphs, in Prometheus' text format (the official `prometheus_client`).

Two kinds of series:
- read at scrape time from the database by one custom collector (SLOs, status, drills, deployments, SDK
  instances, the task queue), so every web process answers the same; other apps' rows are read through
  `apps.get_model` (no imports of their internals), except the served flag revision, whose one home is
  `flags.queries.current_revision` (chaos faults add to it). With the database down these are left out and
  `governance_metrics_database_up` is 0: the scrape itself still answers.
- counted in the processes that serve (flag answers by endpoint and source, flags/served.py). With
  `PROMETHEUS_MULTIPROC_DIR` set, prometheus_client sums every process's files (gunicorn workers, the stream);
  without it, this process's own counters.
Who may scrape: clients in METRICS_ALLOWED_NETWORKS (default: loopback), or anyone with a valid API token
(`Authorization: Bearer …`); everybody else gets 403.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from observability.models import SloAlert, SloSnapshot

logger = logging.getLogger(__name__)


class PortalCollector(Collector):
    """The series read from the database; none of them (and database_up 0) when it cannot be read."""

    def collect(self) -> Iterator[Metric]:
        parts: list[Callable[[], Iterator[Metric]]] = [
            self._slos, self._status, self._drills, self._deployments, self._sdk_instances, self._queue]
        families: list[Metric] = []
        up = GaugeMetricFamily("governance_metrics_database_up",
                               "1 when this scrape could read the portal's database, 0 when it could not.")
        try:
            for part in parts:
                families.extend(part())  # materialised: a failure halfway leaves no half-written family
        except (OperationalError, InterfaceError) as exc:
            logger.warning("metrics: database unreachable, serving process counters only (%s)", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

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
        if apps.is_installed("chaos"):
            yield self._chaos_runs(now)

    def _chaos_runs(self, now: Any) -> Metric:
        """The last finished run of each chaos experiment in each environment: its age and status (the verdict)."""
        run = apps.get_model("chaos", "Run")
        age = GaugeMetricFamily("governance_chaos_run_last_age_seconds",
                                "Seconds since the last finished run of a chaos experiment; status is its verdict "
                                "(completed, deviated, aborted, failed, interrupted).",
                                labels=["service", "environment", "experiment", "status"])
        latest = (run.objects.filter(ended_at__isnull=False)
                  .order_by("experiment_id", "environment_id", "-ended_at", "-id")
                  .distinct("experiment_id", "environment_id")
                  .values_list("service__slug", "environment__slug", "experiment__key", "status", "ended_at"))
        for service, environment, experiment, status, ended_at in latest:
            age.add_metric([service, environment, experiment, status], (now - ended_at).total_seconds())
        return age

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

    def _sdk_instances(self) -> Iterator[Metric]:
        if not apps.is_installed("flags"):
            return
        from flags.queries import current_revision  # the revision the snapshot serves (chaos faults add to it)

        instance = apps.get_model("flags", "SdkInstance")
        state = apps.get_model("flags", "FlagState")
        service_model, environment_model = apps.get_model("governance", "Service"), apps.get_model(
            "governance", "Environment")
        services = {s.pk: s for s in service_model.objects.all()}
        environments = {e.pk: e for e in environment_model.objects.all()}
        now = timezone.now()
        current: dict[tuple[str, str], int] = {}
        for service_id, environment_id in (state.objects.values_list("flag__service_id", "environment_id")
                                           .distinct().order_by()):
            service, environment = services[service_id], environments[environment_id]
            current[(service.slug, environment.slug)] = current_revision(service=service, environment=environment,
                                                                         now=now)
        revision = GaugeMetricFamily("governance_flag_revision",
                                     "The current flag revision of a service in an environment.",
                                     labels=["service", "environment"])
        for (service_slug, environment_slug), value in sorted(current.items()):
            revision.add_metric([service_slug, environment_slug], value or 0)
        instances = GaugeMetricFamily(
            "governance_flag_sdk_instances",
            f"SDK instances seen in the last {settings.FLAGS_INSTANCE_WINDOW_MINUTES} minutes by the revision they "
            "serve; current=\"false\" lags behind the portal.", labels=["service", "environment", "revision", "current"])
        since = now - timedelta(minutes=settings.FLAGS_INSTANCE_WINDOW_MINUTES)
        for row in (instance.objects.filter(last_seen__gte=since)
                    .values("service__slug", "environment__slug", "revision").annotate(n=Count("id"))
                    .order_by("service__slug", "environment__slug", "revision")):
            key = (row["service__slug"], row["environment__slug"])
            served = row["revision"]
            up_to_date = served is not None and served >= (current.get(key) or 0)
            instances.add_metric([*key, "none" if served is None else str(served), str(up_to_date).lower()],
                                 row["n"])
        yield from (revision, instances)

    def _queue(self) -> Iterator[Metric]:
        """The broker's own figures: the ORM broker's table, or the Redis list (with leases and dead letters)."""
        from django_q.brokers import get_broker
        from django_q.models import OrmQ

        from governance.redis_broker import ReliableRedis

        depth = GaugeMetricFamily("governance_queue_depth", "Tasks waiting in the broker's queue.")
        oldest = GaugeMetricFamily("governance_queue_oldest_task_age_seconds",
                                   "Age of the oldest queued task (0 when the queue is empty; ORM broker only).")
        broker = get_broker()
        if isinstance(broker, ReliableRedis):
            import redis

            up = GaugeMetricFamily("governance_queue_broker_up", "1 when this scrape could read the Redis broker.")
            leased = GaugeMetricFamily("governance_queue_leased", "Tasks a worker holds and has not acknowledged.")
            dead = GaugeMetricFamily("governance_queue_dead_letters",
                                     "Tasks moved aside after max_attempts deliveries without acknowledgement.")
            try:
                figures = (broker.queue_size(), broker.lock_size(), broker.dead_size())
            except redis.RedisError as exc:  # the rest of the scrape still answers
                logger.warning("metrics: the Redis broker is unreachable (%s)", exc)
                up.add_metric([], 0)
                yield up
                return
            up.add_metric([], 1)
            depth.add_metric([], figures[0])
            leased.add_metric([], figures[1])
            dead.add_metric([], figures[2])
            yield from (up, depth, oldest, leased, dead)
            return
        figures = OrmQ.objects.aggregate(n=Count("id"), first=Min("lock"))
        depth.add_metric([], figures["n"])
        first = figures["first"]
        oldest.add_metric([], max(0.0, (timezone.now() - first).total_seconds()) if first else 0.0)
        yield from (depth, oldest)


class ProcessCounters(Collector):
    """What the serving processes counted: summed over every process's files in multiprocess mode."""

    def collect(self) -> Iterator[Metric]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            yield from MultiProcessCollector(None).collect()
        else:
            yield from REGISTRY.collect()


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

        try:
            return authenticate_secret(header.removeprefix("Bearer ").strip()) is not None
        except (OperationalError, InterfaceError):
            raise TokenUncheckable from None
    return False


class TokenUncheckable(Exception):
    """A token cannot be checked with the database down (scrapes from METRICS_ALLOWED_NETWORKS still answer)."""


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    try:
        allowed = _allowed(request)
    except TokenUncheckable:
        return HttpResponse("The database is unreachable, so the token cannot be checked: scrape from an allowed "
                            "network (METRICS_ALLOWED_NETWORKS) to get the counters while it is down.\n",
                            status=503, content_type="text/plain", headers={"Retry-After": "30"})
    if not allowed:
        return HttpResponse("Scrape from an allowed network (METRICS_ALLOWED_NETWORKS) or send a valid API token.\n",
                            status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    registry.register(ProcessCounters())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
