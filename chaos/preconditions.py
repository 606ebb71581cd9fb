"""What must hold before a drill injects anything, each read from the owning app's queries.

A drill does not start when: an SLO of the target has less than CHAOS_MIN_BUDGET_FRACTION of its error
budget left; a page alert of the service is open; an incident of the service is open; a release of the
service is promoting; the environment is inside a freeze window. Each check returns "" or why it refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings

from governance.formatting import percent


def error_budget(service: Any, environment: Any) -> str:
    from observability import queries
    from observability.models import Slo

    slos = Slo.objects.filter(service=service, environment=environment, enabled=True).select_related(
        "service", "environment")
    low = []
    for status in queries.slo_statuses(slos):
        report = status.report
        if report is None or report.remaining_fraction is None or report.verdict.value == "insufficient_data":
            continue
        if float(report.remaining_fraction) < settings.CHAOS_MIN_BUDGET_FRACTION:
            low.append(f"{status.slo.name} ({percent(float(report.remaining_fraction))} left)")
    return (f"error budget below {percent(settings.CHAOS_MIN_BUDGET_FRACTION)}: {', '.join(low)}") if low else ""


def page_alerts(service: Any, environment: Any) -> str:
    from django.db.models import Q

    from observability import queries

    # A page of the same service in another environment (production) does not stop a preview drill.
    alerts = queries.open_alerts().filter(Q(slo__environment=environment) | Q(slo__isnull=True), service=service,
                                          action="page")
    names = [a.summary for a in alerts[:3]]
    return f"page alert open: {'; '.join(names)}" if names else ""


def incidents(service: Any, environment: Any) -> str:
    from status.models import Incident

    open_ = Incident.objects.filter(service=service, kind=Incident.Kind.INCIDENT, resolved_at__isnull=True)
    titles = [str(i) for i in open_[:3]]
    return f"incident open: {'; '.join(titles)}" if titles else ""


def promotions(service: Any, environment: Any) -> str:
    from releases import queries

    promoting = [r.version for r in queries.stuck_promotions(older_than=timedelta(0)).filter(service=service)[:3]]
    return f"promotion in progress: {', '.join(promoting)}" if promoting else ""


def freezes(service: Any, environment: Any) -> str:
    from releases import queries

    titles = [w.title for w in queries.active_freezes(service, environment)[:3]]
    return f"inside a freeze window: {', '.join(titles)}" if titles else ""


CHECKS: dict[str, Callable[[Any, Any], str]] = {
    "error budget": error_budget, "page alerts": page_alerts, "incidents": incidents,
    "promotions": promotions, "freeze windows": freezes,
}


def check(service: Any, environment: Any) -> list[dict[str, Any]]:
    """[{name, ok, detail}] for every pre-condition."""
    results = []
    for name, function in CHECKS.items():
        refusal = function(service, environment)
        results.append({"name": name, "value": refusal or "ok", "tolerance": "ok", "ok": not refusal})
    return results
