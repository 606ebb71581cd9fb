"""Moved to `governance.notifications.notify` (the notifications' core home); this name stays for callers."""

from governance.notifications.notify import *  # noqa: F403
from governance.notifications.notify import (  # noqa: F401  (explicit: the names callers use)
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    USER_AGENT,
    ChannelConfig,
    ChannelConfigError,
    ChannelKind,
    DeliveryResult,
    Message,
    Router,
    Severity,
    message_for_alert,
    sign,
    slack_payload,
    verify_signature,
    webhook_body,
)
