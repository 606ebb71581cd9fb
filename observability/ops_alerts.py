"""Moved to `governance.notifications.routing`; this name stays for callers (`send`, `portal_channels`)."""

from governance.notifications.routing import SOURCE, portal_channels, send, send_alert

__all__ = ["SOURCE", "portal_channels", "send", "send_alert"]
