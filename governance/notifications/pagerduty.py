"""PagerDuty Events API v2: the event body the router posts for a `pagerduty` channel (pure, no Django).

Documented shape (developer.pagerduty.com, "Events API v2 Overview" / "Send an Alert Event"):
    POST https://events.pagerduty.com/v2/enqueue, Content-Type: application/json
    trigger: {routing_key, event_action: "trigger", dedup_key, client, client_url?, links?,
              payload: {summary (≤ 1024 chars), source, severity: critical|error|warning|info, custom_details}}
    resolve: {routing_key, event_action: "resolve", dedup_key}
    202 {"status": "success", "message": "Event processed", "dedup_key": …}; 400 {"status": "invalid event",
    "message": …, "errors": [...]} (not retried); 429 and 5xx are retried by the router.
The channel's secret is the integration's routing key; the same dedup_key on the resolve closes the incident.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from governance.notifications.notify import Message

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
CLIENT = "governance-portal"
SUMMARY_MAX = 1024
DEDUP_MAX = 255
# Our three severities map onto PagerDuty's four (it has no "page"/"ticket" split: "error" is unused).
SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def dedup_key(message: Message) -> str:
    """The message's own key, or a stable one from its source and title (a resolve must repeat the title)."""
    if message.dedup_key:
        return message.dedup_key[:DEDUP_MAX]
    title = message.title.removeprefix("RESOLVED: ")
    return f"{message.source}:" + hashlib.sha256(title.encode()).hexdigest()[:32]


def event(message: Message, *, routing_key: str) -> dict[str, Any]:
    body: dict[str, Any] = {"routing_key": routing_key, "dedup_key": dedup_key(message)}
    if message.resolve:
        body["event_action"] = "resolve"
        return body
    body["event_action"] = "trigger"
    body["client"] = CLIENT
    details = dict(message.fields)
    if message.text:
        details["text"] = message.text
    body["payload"] = {"summary": message.title[:SUMMARY_MAX], "source": message.source,
                       "severity": SEVERITY[message.severity.value], "custom_details": details}
    if message.url:
        body["client_url"] = message.url
        body["links"] = [{"href": message.url, "text": "Open in the portal"}]
    return body
