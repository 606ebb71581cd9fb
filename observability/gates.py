"""The "error-budget" release-gate input (registered in governance.hooks.GATE_INPUTS).

Uses only `release.service_id` and `release.pk`: the releases app is built separately and is not imported.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from governance.hooks import GateInput
from observability import queries
from observability.models import ErrorBudgetOverride

NAME = "error-budget"


def active_override(*, service_id: int, release_id: int | None) -> ErrorBudgetOverride | None:
    """The latest unexpired, unrevoked override for this release or for the whole service."""
    scope = Q(release_id__isnull=True) | Q(release_id=release_id) if release_id is not None else Q(
        release_id__isnull=True)
    return (ErrorBudgetOverride.objects.filter(scope, service_id=service_id, revoked_at__isnull=True,
                                               expires_at__gt=timezone.now())
            .order_by("-created_at").first())


def error_budget_gate(*, release: Any, environment: Any) -> GateInput:
    """Block a production promotion while any production SLO of the service has no error budget left."""
    if not environment.is_production:
        return GateInput(name=NAME, verdict="allow", code="not_production",
                         message=f"The error budget only gates production ({environment.slug} is not).")
    slos = queries.slos_for_check().filter(service_id=release.service_id, environment_id=environment.pk)
    statuses = queries.slo_statuses(slos)
    figures = [s.figures() for s in statuses]
    exhausted = [s for s in statuses if s.exhausted]
    details: dict[str, Any] = {"environment": environment.slug, "slos": figures,
                               "exhausted": [s.slo.name for s in exhausted]}
    if not statuses:
        return GateInput(name=NAME, verdict="allow", code="no_slos", message="The service has no enabled SLOs here.",
                         details=details)
    if not exhausted:
        insufficient = [f["slo"] for f in figures if f["verdict"] in (None, "insufficient_data")]
        if len(insufficient) == len(figures):
            # No data is no data: it is not "budget left" (nothing measured, nothing to block on either).
            return GateInput(name=NAME, verdict="allow", code="no_data",
                             message=f"No data: no production SLO has enough events for a verdict "
                                     f"({', '.join(insufficient)}); nothing to block on.", details=details)
        note = f"; no data for {', '.join(insufficient)}" if insufficient else ""
        return GateInput(name=NAME, verdict="allow", code="error_budget_available",
                         message=f"Every production SLO with data has error budget left{note}.", details=details)
    # an exhausted status always has a report
    worst = min(exhausted, key=lambda s: (s.report.remaining_fraction or 0) if s.report else 0)
    summary = ", ".join(
        f"{s.slo.name} (compliance {s.figures()['compliance']:.4%}, budget remaining "
        f"{s.figures()['budget_remaining_fraction']:.1%})" for s in exhausted)
    details["slo"] = worst.slo.name
    details["compliance"] = worst.figures()["compliance"]
    details["budget_remaining_fraction"] = worst.figures()["budget_remaining_fraction"]
    override = active_override(service_id=release.service_id, release_id=release.pk)
    if override is not None:
        details["override"] = {"id": override.pk, "granted_by": override.granted_by,
                               "reason": override.justification, "release_id": override.release_id,
                               "expires_at": override.expires_at.isoformat()}
        return GateInput(name=NAME, verdict="allow", code="error_budget_overridden",
                         message=f"Error budget exhausted for {summary}; overridden by {override.granted_by} until "
                                 f"{override.expires_at:%Y-%m-%d %H:%M} UTC: {override.justification}",
                         details=details)
    return GateInput(name=NAME, verdict="block", code="error_budget_exhausted",
                     message=f"Error budget exhausted for {summary}. Spend the time on reliability, or ask a release "
                             "manager for an override with a reason.",
                     details=details)
