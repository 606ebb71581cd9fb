"""What the team's channels hear about incidents: each published update, and the reminder a commander gets when
an incident's promised update is overdue.

It goes the portal's one notification path (governance.notifications: NotificationChannel rows by
severity, portal-wide channels and the incident's service's; each delivery recorded), and by email to the commander when they have an address.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from governance.notifications import notify, routing
from status.models import Incident, IncidentUpdate

logger = logging.getLogger(__name__)


def reminder_message(incident: Incident) -> notify.Message:
    commander = incident.commander.get_username() if incident.commander else "nobody assigned"
    due = f"{incident.next_update_by:%Y-%m-%d %H:%M} UTC" if incident.next_update_by else "—"
    base = settings.PORTAL_URL.rstrip("/")
    url = f"{base}/{settings.ADMIN_PATH}status/incident/{incident.pk}/change/" if base else None
    return notify.Message(
        severity=notify.Severity.WARNING, title=f"Incident update overdue: {incident.name}",
        text=f"The next update of '{incident.name}' ({incident.service.slug}) was promised by {due}. "
             f"Commander: {commander}. Post an update (docs/STATUS.md, 'Incidents').",
        fields={"Incident": str(incident.pk), "Status": incident.status, "Commander": commander,
                "Next update by": due}, url=url, source="governance-portal/status",
        dedup_key=f"incident-overdue:{incident.pk}")


def send_reminder(incident_id: int) -> list[routing.Delivery]:
    incident = Incident.objects.select_related("service", "commander").get(pk=incident_id)
    message = reminder_message(incident)
    results = routing.send_alert(message, service_id=incident.service_id)
    email = getattr(incident.commander, "email", "")
    if email:
        try:
            send_mail(message.title, f"{message.text}\n{message.url or ''}", None, [email])
        except OSError:  # an unreachable mail server must not hide the channel deliveries
            logger.exception("incident reminder email to %s failed", email)
    return results


# An incident update's severity on the routing path follows the incident's impact (docs/SLOs.md § Alert routing).
IMPACT_SEVERITY: dict[str, notify.Severity] = {Incident.Impact.CRITICAL: notify.Severity.CRITICAL,
                                               Incident.Impact.MAJOR: notify.Severity.WARNING}


def update_message(update: IncidentUpdate) -> notify.Message:
    incident = update.incident
    base = settings.PORTAL_URL.rstrip("/")
    url = f"{base}/{settings.ADMIN_PATH}status/incident/{incident.pk}/change/" if base else None
    closed = update.status in (Incident.Status.RESOLVED, Incident.Status.COMPLETED, Incident.Status.POSTMORTEM)
    title = f"{incident.get_kind_display().capitalize()} {update.status}: {incident.name} ({incident.service.slug})"
    return notify.Message(
        severity=IMPACT_SEVERITY.get(incident.impact, notify.Severity.INFO), title=title, text=update.body,
        fields={"Incident": str(incident.pk), "Status": update.status, "Impact": incident.impact,
                "Public": "yes" if incident.public else "no"},
        url=url, source="governance-portal/status", event="incident.update", dedup_key=f"incident:{incident.pk}",
        resolve=closed)


def route_update(update_id: int) -> list[routing.Delivery]:
    update = IncidentUpdate.objects.select_related("incident__service").get(pk=update_id)
    return routing.send_alert(update_message(update), service_id=update.incident.service_id)
