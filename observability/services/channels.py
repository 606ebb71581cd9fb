"""Notification channels: the NotificationChannel rows (configuration: which severities go where) and the
record of every delivery. The routing itself lives in the core (`governance.notifications`); observability
hands it the rows and stores the outcomes through governance.hooks (NOTIFICATION_CHANNELS / _DELIVERED)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q

from governance import services as core
from governance.notifications import notify
from governance.notifications.routing import ChannelSpec, Delivery
from observability.models import NotificationChannel, NotificationDelivery


@transaction.atomic
def save_channel(*, channel: NotificationChannel, actor: Any, reason: str,
                 update_fields: Iterable[str] | None = None) -> NotificationChannel:
    """Create or change a channel (validated by NotificationChannel.clean: webhooks name their secret's variable)."""
    return core.save_audited(instance=channel, actor=actor, reason=reason,
                             update_fields=update_fields)


def spec(channel: NotificationChannel) -> ChannelSpec:
    return ChannelSpec(name=channel.name, kind=channel.kind, url=channel.url, secret_env=channel.secret_env,
                       severities=tuple(channel.severities), channel_id=channel.pk)


def channel_specs(*, service_id: int | None = None) -> list[ChannelSpec]:
    """governance.hooks.NOTIFICATION_CHANNELS: the enabled portal-wide channels, and `service_id`'s."""
    scope = Q(service__isnull=True) | Q(service_id=service_id) if service_id is not None else Q(service__isnull=True)
    return [spec(channel) for channel in NotificationChannel.objects.filter(scope, enabled=True).order_by("name")]


def record_deliveries(*, message: notify.Message, deliveries: Sequence[Delivery], event: str,
                      alert_id: int | None = None) -> None:
    """governance.hooks.NOTIFICATION_DELIVERED: one NotificationDelivery row per channel tried."""
    known = set(NotificationChannel.objects.filter(pk__in=[d.channel_id for d in deliveries if d.channel_id])
                .values_list("pk", flat=True))
    NotificationDelivery.objects.bulk_create([
        NotificationDelivery(alert_id=alert_id, channel_id=d.channel_id if d.channel_id in known else None,
                             channel_name=d.channel_name[:100], event=event[:10], delivered=d.delivered,
                             attempts=d.attempts, status_code=d.status_code, error=d.error,
                             source=message.source[:100], severity=message.severity.value,
                             title=message.title[:300])
        for d in deliveries])
