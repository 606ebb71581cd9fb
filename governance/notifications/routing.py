"""The portal's one alert routing path: a message → the channels routed for its severity → deliveries.

Channels are configuration, not code: `NotificationChannel` rows (owned by observability, which hands them over
through `governance.hooks.NOTIFICATION_CHANNELS`) plus the implicit channels of the deprecated
DR_ALERT_WEBHOOK_URL / RELEASES_ALERT_WEBHOOK_URL settings. Each channel routes the severities it lists
(docs/SLOs.md § Alert routing). Every attempt is recorded through `governance.hooks.NOTIFICATION_DELIVERED`
(observability writes `NotificationDelivery` rows).

Callers: `send_alert(message, service_id=…)` (DR, releases, status, chaos, …). The supervisor reads the
channels while the database is up (`portal_channels`) and hands them to `send` later, so an alert still goes out
while PostgreSQL is down.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.db import DatabaseError, transaction

from governance import hooks
from governance.notifications import notify

logger = logging.getLogger(__name__)
SOURCE = "governance-portal/worker"
DR_SOURCE = "governance-portal/recovery"
RELEASES_SOURCE = "governance-portal/releases"


@dataclass(frozen=True)
class ChannelSpec:
    """One configured destination, however it is stored. The secret is read from `secret_env` when sending;
    `secret` is only for the implicit channels of deprecated settings that held the value itself."""

    name: str
    kind: str
    url: str
    severities: tuple[str, ...]
    secret_env: str = ""
    secret: str | None = None
    channel_id: int | None = None
    sources: tuple[str, ...] = ()  # empty: every message; else only messages whose source is listed

    def takes(self, message: notify.Message) -> bool:
        return message.severity.value in self.severities and (not self.sources or message.source in self.sources)


@dataclass(frozen=True)
class Delivery:
    """One channel's outcome for one message (what observability stores as a NotificationDelivery)."""

    channel_id: int | None
    channel_name: str
    delivered: bool
    attempts: int = 0
    status_code: int | None = None
    error: str = ""


@dataclass
class Routed:
    """The channels a message reaches: usable configs and the ones that could not be used (with why)."""

    usable: list[tuple[ChannelSpec, notify.ChannelConfig]] = field(default_factory=list)
    unusable: list[tuple[ChannelSpec, str]] = field(default_factory=list)


def channel_config(spec: ChannelSpec) -> tuple[notify.ChannelConfig | None, str]:
    """The router config of a channel, with its secret read from the environment; or why it cannot be used."""
    secret = spec.secret
    if spec.secret_env:
        secret = os.environ.get(spec.secret_env)
        if not secret:
            return None, f"the environment variable {spec.secret_env} holding the secret is not set"
    try:
        config = notify.ChannelConfig.from_dict(
            {"kind": spec.kind, "url": spec.url, "name": spec.name, "secret": secret,
             "severities": list(spec.severities)}, path=f"channel {spec.name}")
    except notify.ChannelConfigError as exc:
        return None, str(exc)
    return config, ""


def deprecated_channels() -> list[ChannelSpec]:
    """The implicit channels of DR_ALERT_WEBHOOK_URL and RELEASES_ALERT_WEBHOOK_URL (deprecated: declare a
    NotificationChannel instead; a system check warns while they are set). Each takes only its own app's alerts,
    as before, with every severity."""
    specs = []
    if settings.DR_ALERT_WEBHOOK_URL:
        specs.append(ChannelSpec(name="dr-alerts (DR_ALERT_WEBHOOK_URL)", kind="webhook",
                                 url=settings.DR_ALERT_WEBHOOK_URL, secret=settings.DR_ALERT_WEBHOOK_SECRET,
                                 severities=tuple(s.value for s in notify.Severity), sources=(DR_SOURCE,)))
    if settings.RELEASES_ALERT_WEBHOOK_URL:
        specs.append(ChannelSpec(name="release-alerts (RELEASES_ALERT_WEBHOOK_URL)", kind="webhook",
                                 url=settings.RELEASES_ALERT_WEBHOOK_URL,
                                 secret_env=settings.RELEASES_ALERT_WEBHOOK_SECRET_ENV,
                                 severities=tuple(s.value for s in notify.Severity), sources=(RELEASES_SOURCE,)))
    return specs


def channels(service_id: int | None = None) -> list[ChannelSpec]:
    """Every enabled channel for portal-wide alerts, or (with `service_id`) also that service's channels."""
    specs: list[ChannelSpec] = []
    for provider in hooks.NOTIFICATION_CHANNELS:
        specs.extend(provider(service_id=service_id))
    return specs + deprecated_channels()


def route(message: notify.Message, specs: Iterable[ChannelSpec]) -> Routed:
    routed = Routed()
    for spec in specs:
        if not spec.takes(message):
            continue
        config, problem = channel_config(spec)
        if config is None:
            routed.unusable.append((spec, problem))
        else:
            routed.usable.append((spec, config))
    return routed


def deliver(message: notify.Message, specs: Iterable[ChannelSpec], *, client: httpx.Client | None = None,
            max_attempts: int | None = None) -> list[Delivery]:
    """Send to every channel routed for the message; never raises for a failed delivery (it is a result)."""
    routed = route(message, specs)
    deliveries = [Delivery(spec.channel_id, spec.name, False, error=problem) for spec, problem in routed.unusable]
    for spec, problem in routed.unusable:
        logger.error("notification channel %s unusable: %s", spec.name, problem)
    if routed.usable:
        try:
            with notify.Router([config for _, config in routed.usable], client=client,
                               max_attempts=max_attempts or settings.NOTIFY_MAX_ATTEMPTS,
                               backoff_base=0.5, backoff_max=4.0) as router:
                results = router.send(message)  # every usable config accepts the severity (spec.takes)
        except Exception as exc:  # noqa: BLE001 - an alert must never stop the drill/worker/checker that raised it
            logger.exception("notification delivery crashed: %s", message.title)
            results = [notify.DeliveryResult(c.label, c.kind, False, 0, None, f"{type(exc).__name__}: {exc}")
                       for _, c in routed.usable]
        for (spec, _), result in zip(routed.usable, results, strict=True):
            deliveries.append(Delivery(spec.channel_id, spec.name, result.delivered, result.attempts,
                                       result.status_code, result.error or ""))
            if not result.delivered:
                logger.error("alert not delivered to %s after %s attempt(s): %s (%s)", spec.name, result.attempts,
                             message.title, result.error)
    return deliveries


def record(message: notify.Message, deliveries: Sequence[Delivery], *, event: str = "",
           alert_id: int | None = None) -> None:
    """Hand the outcomes to the recorders (observability's NotificationDelivery); a database that is down only
    loses the record, never the alert (the supervisor sends while PostgreSQL is unreachable)."""
    if not deliveries:
        return
    try:
        with transaction.atomic():
            for recorder in hooks.NOTIFICATION_DELIVERED:
                recorder(message=message, deliveries=deliveries, event=event or ("resolved" if message.resolve
                                                                                 else "opened"), alert_id=alert_id)
    except DatabaseError:
        logger.exception("notification deliveries not recorded (database unavailable): %s", message.title)


def dispatch(message: notify.Message, *, service_id: int | None = None, event: str = "",
             alert_id: int | None = None, client: httpx.Client | None = None) -> list[Delivery]:
    """THE routing path: read the channels, deliver, record. Never raises for a failed delivery."""
    logger.warning("alert: %s: %s", message.title, message.text)
    deliveries = deliver(message, channels(service_id), client=client)
    if not deliveries:
        logger.warning("alert not delivered (no enabled channel takes %s from %s): %s", message.severity.value,
                       message.source, message.title)
    record(message, deliveries, event=event, alert_id=alert_id)
    return deliveries


def send_alert(message: notify.Message, *, service_id: int | None = None,
               client: httpx.Client | None = None) -> list[Delivery]:
    """The one function every app calls to raise an alert (DR, stuck promotions, chaos aborts, incident
    updates): routed by severity to the portal-wide channels (and `service_id`'s), recorded as deliveries."""
    return dispatch(message, service_id=service_id, client=client)


# ---------------------------------------------------------------------------------------------
# The supervisor's pair: channels read while the database is up, sent later without it
# ---------------------------------------------------------------------------------------------


def portal_channels(service_id: int | None = None) -> list[notify.ChannelConfig]:
    """The usable configs of the enabled portal-wide channels (reads the database); with `service_id`, also the
    channels of that service."""
    configs = []
    for spec in channels(service_id):
        config, problem = channel_config(spec)
        if config is None:
            logger.warning("notification channel %s unusable for portal alerts: %s", spec.name, problem)
        else:
            configs.append(config)
    return configs


def send(message: notify.Message, configs: list[notify.ChannelConfig]) -> list[notify.DeliveryResult]:
    """Deliver to the given configs routed for the message's severity; logged, and never raises."""
    logger.warning("portal alert: %s: %s", message.title, message.text)
    usable = [c for c in configs if c.accepts(message.severity)]
    if not usable:
        logger.warning("portal alert not delivered (no enabled portal-wide channel takes %s): %s",
                       message.severity.value, message.title)
        return []
    try:
        with notify.Router(usable, max_attempts=3, backoff_base=0.5, backoff_max=4.0) as router:
            results = router.send(message)
    except Exception:  # noqa: BLE001 - an alert must never stop the supervisor that raised it
        logger.exception("portal alert delivery crashed: %s", message.title)
        return []
    for result in results:
        if not result.delivered:
            logger.error("portal alert not delivered to %s after %s attempt(s): %s (%s)", result.channel,
                         result.attempts, message.title, result.error)
    record(message, [Delivery(None, r.channel, r.delivered, r.attempts, r.status_code, r.error or "")
                     for r in results])
    return results
