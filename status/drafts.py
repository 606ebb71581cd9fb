"""Update texts per state, filled from the portal's data (components, start, duration, SLI impact).

Reads only; a draft incident from an alert is opened unpublished (`services.open_incident(publish=False)`):
nothing reaches the public page until a person publishes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from governance.models import Environment, Service
from observability.models import SliPoint, Slo, SloAlert
from status import impact, services
from status.models import Component, Incident

LOOKBACK = timedelta(hours=1)  # before the start: when did failures begin?
TEMPLATES = {
    "investigating": "We are investigating {problem} affecting {components} since {start} UTC. {impact} "
                     "Next update by {next_update}.",
    "identified": "We have identified the cause of {problem} affecting {components} (since {start} UTC, "
                  "{duration}) and are working on a fix. {impact} Next update by {next_update}.",
    "monitoring": "A fix is in place for {problem} affecting {components}; we are monitoring the results. {impact}",
    "resolved": "{problem} affecting {components} is resolved. It lasted {duration} (from {start} UTC). {impact}",
    "postmortem": "The post-incident review of {problem} ({start} UTC, {duration}) is published.",
    "scheduled": "Maintenance of {components} is scheduled from {start} UTC for {duration}.",
    "in_progress": "Maintenance of {components} is in progress (started {start} UTC, planned for {duration}).",
    "verifying": "Maintenance of {components} is done; we are verifying that everything works.",
    "completed": "Maintenance of {components} is completed.",
}


def _production(service: Service) -> Environment | None:
    return Environment.objects.filter(is_production=True).order_by("order").first()


def minute_counts(service: Service, environment: Environment, start: datetime,
                  end: datetime) -> list[impact.MinuteCounts]:
    rows = (SliPoint.objects.filter(service=service, environment=environment, minute__gte=start, minute__lt=end)
            .values("minute").annotate(total=Sum("total"), errors=Sum("errors")).order_by("minute"))
    return [impact.MinuteCounts(r["minute"], r["total"] or 0, r["errors"] or 0) for r in rows]


def availability_slo(service: Service, environment: Environment) -> impact.Availability | None:
    slo = Slo.objects.filter(service=service, environment=environment, sli_type=Slo.SliType.AVAILABILITY,
                             enabled=True).order_by("name").first()
    if slo is None or slo.slice_error_threshold is None:
        return None
    return impact.Availability(objective=slo.objective, window=slo.window,
                               slice_error_threshold=slo.slice_error_threshold)


def impact_sentence(service: Service, start: datetime, end: datetime | None = None) -> str:
    environment = _production(service)
    if environment is None:
        return ""
    end = end or timezone.now()
    availability = availability_slo(service, environment)
    measured = impact.measure(minute_counts(service, environment, start - LOOKBACK, end), availability)
    return impact.sentence(measured, availability=availability)


def _duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _names(components: Iterable[Component]) -> str:
    names = [c.name for c in components]
    return ", ".join(names) if names else "some services"


def fill(state: str, *, problem: str, components: Iterable[Component], start: datetime, end: datetime | None = None,
         impact_text: str = "", next_update: datetime | None = None) -> str:
    """The text of one state's template, for a person to edit before posting."""
    end = end or timezone.now()
    text = TEMPLATES[state].format(
        problem=problem, components=_names(components), start=f"{start:%Y-%m-%d %H:%M}",
        duration=_duration(end - start), impact=impact_text,
        next_update=f"{next_update:%H:%M} UTC" if next_update else "the time we give in the next update")
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]


def suggested_update(incident: Incident, state: str) -> str:
    """The template of `state` filled for an existing incident (admin: the update form's starting text)."""
    if incident.kind == Incident.Kind.MAINTENANCE:
        start = incident.scheduled_for or incident.started_at
        end = incident.scheduled_until if state in ("scheduled", "in_progress") else None
        return fill(state, problem=incident.name, components=incident.components.all(), start=start, end=end)
    return fill(state, problem=incident.name.lower(), components=incident.components.all(),
                start=incident.started_at, impact_text=impact_sentence(incident.service, incident.started_at))


def draft_from_alert(*, alert: SloAlert, actor: Any, reason: str) -> Incident:
    """One click on a paging alert: an unpublished incident with the investigating text filled in."""
    if alert.service is None or alert.action != "page" or not alert.is_open:
        raise ValidationError("Only an open paging alert of a service drafts an incident.")
    existing = Incident.objects.filter(source_alert_id=alert.pk).first()
    if existing is not None:
        return existing  # a retry or a second click: the same draft
    components = list(Component.objects.filter(service=alert.service, public=True))
    start = alert.opened_at
    problem = f"elevated errors ({alert.slo.name})" if alert.slo else "elevated errors"
    body = fill("investigating", problem=problem, components=components, start=start,
                impact_text=impact_sentence(alert.service, start))
    impact_level = Incident.Impact.MAJOR if alert.severity == "critical" else Incident.Impact.MINOR
    return services.open_incident(service=alert.service, name=f"{alert.service.name}: elevated errors",
                                  body=body, impact=impact_level, components=components, publish=False,
                                  source_alert_id=alert.pk, actor=actor, reason=reason)
