"""What the public sees (reads only): Statuspage v2-shaped documents built from public, published rows.

Shapes follow Atlassian Statuspage's public API v2 (`/api/v2/summary.json` and friends): string ids, ISO 8601
times with milliseconds and offset, the same field names and enums. Internal notes, drafts, private
components and private incidents never appear.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Max, Prefetch, Q, QuerySet
from django.utils import timezone

from governance.models import Service
from status import indicator
from status.models import CLOSED, Component, ComponentGroup, Incident, IncidentUpdate

PAGE_ID = "portal"
LIST_LIMIT = 50  # Statuspage lists the 50 most recent incidents / maintenances
HISTORY_DAYS = 90
S = Incident.Status


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="milliseconds")


def components_qs(service: Service | None = None) -> QuerySet[Component]:
    qs = Component.objects.filter(public=True).select_related("group", "service")
    return qs.filter(service=service) if service is not None else qs


def incidents_qs(service: Service | None = None) -> QuerySet[Incident]:
    qs = Incident.objects.filter(public=True, published=True).prefetch_related(
        Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
        Prefetch("components", queryset=Component.objects.filter(public=True).select_related("group")))
    return qs.filter(service=service) if service is not None else qs


def page(service: Service | None = None) -> dict[str, Any]:
    stamps = [components_qs(service).aggregate(m=Max("updated_at"))["m"],
              incidents_qs(service).aggregate(m=Max("updated_at"))["m"]]
    updated = max((s for s in stamps if s is not None), default=None)
    base = settings.PORTAL_URL.rstrip("/")
    return {"id": f"{PAGE_ID}-{service.slug}" if service else PAGE_ID,
            "name": f"{service.name} status" if service else settings.STATUS_PAGE_NAME,
            "url": f"{base}/status/{service.slug}/" if service else f"{base}/status/",
            "time_zone": "Etc/UTC", "updated_at": _time(updated or timezone.now())}


def component_doc(component: Component, page_id: str) -> dict[str, Any]:
    return {"id": str(component.pk), "name": component.name, "status": component.status,
            "created_at": _time(component.created_at), "updated_at": _time(component.updated_at),
            "position": component.position, "description": component.description or None, "showcase": True,
            "start_date": component.created_at.date().isoformat(), "group_id":
            f"g{component.group_id}" if component.group_id else None, "page_id": page_id, "group": False,
            "only_show_if_degraded": False}


def _group_doc(group: ComponentGroup, members: list[Component], page_id: str) -> dict[str, Any]:
    worst = max((c.status for c in members), key=_STATUS_RANK.__getitem__, default=indicator.OPERATIONAL)
    return {"id": f"g{group.pk}", "name": group.name, "status": worst, "created_at": _time(group.created_at),
            "updated_at": _time(max((c.updated_at for c in members), default=group.created_at)),
            "position": group.position, "description": group.description or None, "showcase": False,
            "start_date": None, "group_id": None, "page_id": page_id, "group": True,
            "only_show_if_degraded": False, "components": [str(c.pk) for c in members]}


_STATUS_RANK = {indicator.OPERATIONAL: 0, indicator.MAINTENANCE: 1, indicator.DEGRADED: 2, indicator.PARTIAL: 3,
                indicator.MAJOR: 4}


def components(service: Service | None = None) -> list[dict[str, Any]]:
    """Components and their groups (a group is a component with `group: true` and its members' ids)."""
    page_id = page_id_for(service)
    rows = list(components_qs(service))
    docs = [component_doc(c, page_id) for c in rows]
    groups: dict[int, tuple[ComponentGroup, list[Component]]] = {}
    for c in rows:
        if c.group is not None:
            groups.setdefault(c.group.pk, (c.group, []))[1].append(c)
    docs += [_group_doc(g, members, page_id) for g, members in groups.values()]
    return sorted(docs, key=lambda d: (d["position"], d["name"]))


def page_id_for(service: Service | None) -> str:
    return f"{PAGE_ID}-{service.slug}" if service else PAGE_ID


def update_doc(update: IncidentUpdate) -> dict[str, Any]:
    return {"id": str(update.pk), "status": update.status, "body": update.body, "incident_id":
            str(update.incident_id), "created_at": _time(update.created_at), "updated_at": _time(update.created_at),
            "display_at": _time(update.display_at), "affected_components": list(update.affected_components) or None,
            "deliver_notifications": True, "custom_tweet": None, "tweet_id": None}


def incident_doc(incident: Incident, page_id: str) -> dict[str, Any]:
    base = settings.PORTAL_URL.rstrip("/")
    doc = {"id": str(incident.pk), "name": incident.name, "status": incident.status,
           "created_at": _time(incident.created_at), "updated_at": _time(incident.updated_at),
           "monitoring_at": _time(incident.monitoring_at), "resolved_at": _time(incident.resolved_at),
           "impact": incident.impact, "shortlink": f"{base}/status/incidents/{incident.pk}",
           "started_at": _time(incident.started_at), "page_id": page_id,
           "incident_updates": [update_doc(u) for u in incident.updates.all()],
           "components": [component_doc(c, page_id) for c in incident.components.all()]}
    if incident.kind == Incident.Kind.MAINTENANCE:
        doc["scheduled_for"] = _time(incident.scheduled_for)
        doc["scheduled_until"] = _time(incident.scheduled_until)
    return doc


def incidents(service: Service | None = None, *, unresolved: bool = False) -> list[dict[str, Any]]:
    qs = incidents_qs(service).filter(kind=Incident.Kind.INCIDENT)
    if unresolved:
        qs = qs.exclude(status__in=CLOSED)
    page_id = page_id_for(service)
    return [incident_doc(i, page_id) for i in qs.order_by("-started_at", "-id")[:LIST_LIMIT]]


def maintenances(service: Service | None = None, *, which: str = "all") -> list[dict[str, Any]]:
    """`all`, `upcoming` (scheduled), `active` (in progress or verifying)."""
    qs = incidents_qs(service).filter(kind=Incident.Kind.MAINTENANCE)
    if which == "upcoming":
        qs = qs.filter(status=S.SCHEDULED).order_by("scheduled_for", "id")
    elif which == "active":
        qs = qs.filter(status__in=[S.IN_PROGRESS, S.VERIFYING]).order_by("scheduled_for", "id")
    else:
        qs = qs.order_by("-scheduled_for", "-id")
    page_id = page_id_for(service)
    return [incident_doc(i, page_id) for i in qs[:LIST_LIMIT]]


def status(service: Service | None = None) -> dict[str, str]:
    statuses = components_qs(service).values_list("status", flat=True)
    impacts = incidents_qs(service).filter(kind=Incident.Kind.INCIDENT).exclude(
        status__in=CLOSED).values_list("impact", flat=True)
    result = indicator.page_status(statuses, impacts)
    return {"indicator": result.indicator, "description": result.description}


def summary(service: Service | None = None) -> dict[str, Any]:
    return {"page": page(service), "components": components(service),
            "incidents": incidents(service, unresolved=True),
            "scheduled_maintenances": maintenances(service, which="active") + maintenances(service, which="upcoming"),
            "status": status(service)}


def history(service: Service | None = None, *, days: int = HISTORY_DAYS,
            now: datetime | None = None) -> list[Incident]:
    """Closed incidents and maintenances of the last `days` days, newest first (the page's history)."""
    since = (now or timezone.now()) - timedelta(days=days)
    return list(incidents_qs(service).filter(status__in=CLOSED).filter(
        Q(resolved_at__gte=since) | Q(started_at__gte=since)).order_by("-started_at")[:200])


def open_items(service: Service | None = None) -> Iterable[Incident]:
    return incidents_qs(service).exclude(status__in=CLOSED).exclude(
        kind=Incident.Kind.MAINTENANCE, status=S.SCHEDULED).order_by("-started_at")


def atom(service: Service | None, base_url: str) -> bytes:
    """history.atom: public, published incidents and maintenances, the most recently updated first."""
    from django.utils.feedgenerator import Atom1Feed
    from django.utils.html import escape, linebreaks

    info = page(service)
    link = info["url"] if info["url"].startswith("http") else base_url.rstrip("/") + info["url"]
    host = urlsplit(link).hostname or "localhost"
    feed = Atom1Feed(title=f"{info['name']} - incident history", link=link, description="",
                     feed_url=link.rstrip("/") + "/history.atom", language="en", feed_guid=link)
    for incident in incidents_qs(service).order_by("-updated_at", "-id")[:LIST_LIMIT]:
        body = "".join(f"<p><small>{u.display_at:%b %d, %H:%M} UTC</small><br><strong>"
                       f"{escape(u.get_status_display().capitalize())}</strong> - {linebreaks(escape(u.body))}</p>"
                       for u in incident.updates.all())
        feed.add_item(title=incident.name, link=f"{link}#incident-{incident.pk}", description=body,
                      unique_id=f"tag:{host},{incident.created_at:%Y-%m-%d}:{info['id']}/Incident/{incident.pk}",
                      pubdate=incident.created_at, updateddate=incident.updated_at,
                      categories=[incident.kind, incident.impact])
    return feed.writeString("utf-8").encode()
