"""Notifications: the core home of the portal's one alert routing path (every app may import it).

- `notify`: messages, channel configs, the router and its payloads (Slack, signed webhook, PagerDuty); pure.
- `pagerduty`: the Events API v2 body.
- `routing`: channels (NotificationChannel rows through `governance.hooks.NOTIFICATION_CHANNELS`, plus the
  deprecated DR/releases webhook settings), `send_alert` / `dispatch`, deliveries recorded through
  `governance.hooks.NOTIFICATION_DELIVERED`.
"""

from governance.notifications.notify import Message, Severity
from governance.notifications.routing import send_alert

__all__ = ["Message", "Severity", "send_alert"]
