"""The notification channels of the whole portal: Slack-compatible webhooks, signed generic webhooks and
PagerDuty (Events API v2). A pure module (httpx, no Django): `governance.notifications.routing` feeds it.

A `Router` holds channel configs, picks the channels a message's severity is routed to, and
delivers to each one, retrying transport errors, 429 and 5xx answers with bounded exponential
backoff. It never raises for a failed delivery: the caller gets one `DeliveryResult` per channel.

Generic webhook contract (documented in docs/SLOs.md):
    POST <url>, Content-Type: application/json, body = JSON object
        {delivery_id, sent_at, source, severity, title, text, fields, url}
    X-Governance-Signature: sha256=<hex HMAC-SHA256 of the raw body bytes, keyed with the channel secret>
    X-Governance-Timestamp: <unix seconds>, equal to the body's sent_at (so the signature covers it)
    X-Governance-Delivery: <delivery_id>, the same on every retry of one message (for de-duplication)
    X-Governance-Event: <event>, when the message names one (e.g. "release.alert"); also in the body as "event"
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx

from governance.notifications import pagerduty

SIGNATURE_HEADER = "X-Governance-Signature"
TIMESTAMP_HEADER = "X-Governance-Timestamp"
DELIVERY_HEADER = "X-Governance-Delivery"
EVENT_HEADER = "X-Governance-Event"
USER_AGENT = "governance-portal-notify/1"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class ChannelKind(StrEnum):
    SLACK = "slack"
    WEBHOOK = "webhook"
    PAGERDUTY = "pagerduty"


class ChannelConfigError(ValueError):
    """A channel config that cannot be used; the message names the field, e.g. `channels[1].secret`."""


@dataclass(frozen=True)
class Message:
    severity: Severity
    title: str
    text: str
    fields: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    source: str = "governance-portal"
    dedup_key: str | None = None  # one incident in PagerDuty per key: a resolve closes the trigger with the same key
    resolve: bool = False  # the problem is over (PagerDuty: event_action "resolve")
    event: str = ""  # a machine name for receivers, e.g. "release.alert" (webhooks: header and body)


@dataclass(frozen=True)
class ChannelConfig:
    """One destination. Routing: `severities` when given (an explicit set), else every severity >= `min_severity`."""

    kind: ChannelKind
    url: str
    name: str = ""
    secret: str | None = None
    min_severity: Severity = Severity.INFO
    severities: frozenset[Severity] | None = None

    def accepts(self, severity: Severity) -> bool:
        if self.severities is not None:
            return severity in self.severities
        return severity.rank >= self.min_severity.rank

    @property
    def label(self) -> str:
        return self.name or f"{self.kind}:{self.url}"

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, path: str = "channel") -> ChannelConfig:
        if not isinstance(raw, Mapping):
            raise ChannelConfigError(f"{path}: must be a mapping, got {type(raw).__name__}")
        unknown = set(raw) - {"kind", "url", "name", "secret", "min_severity", "severities"}
        if unknown:
            raise ChannelConfigError(f"{path}: unknown keys {sorted(unknown)}")
        try:
            kind = ChannelKind(raw.get("kind", ""))
        except ValueError:
            raise ChannelConfigError(
                f"{path}.kind: must be one of {[k.value for k in ChannelKind]}, got {raw.get('kind')!r}"
            ) from None
        url = raw.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ChannelConfigError(f"{path}.url: must be an http:// or https:// URL, got {url!r}")
        secret = raw.get("secret")
        if kind is ChannelKind.WEBHOOK and (not isinstance(secret, str) or not secret):
            raise ChannelConfigError(f"{path}.secret: a signed webhook needs a non-empty secret")
        if kind is ChannelKind.PAGERDUTY and (not isinstance(secret, str) or not secret):
            raise ChannelConfigError(f"{path}.secret: a PagerDuty channel needs its integration (routing) key")
        if secret is not None and not isinstance(secret, str):
            raise ChannelConfigError(f"{path}.secret: must be a string")
        if "min_severity" in raw and "severities" in raw:
            raise ChannelConfigError(f"{path}: give either min_severity or severities, not both")
        min_severity = _severity(raw.get("min_severity", Severity.INFO.value), f"{path}.min_severity")
        severities = None
        if "severities" in raw:
            values = raw["severities"]
            if isinstance(values, str) or not isinstance(values, Iterable):
                raise ChannelConfigError(f"{path}.severities: must be a list of severities")
            severities = frozenset(_severity(v, f"{path}.severities[{i}]") for i, v in enumerate(values))
            if not severities:
                raise ChannelConfigError(f"{path}.severities: must not be empty")
        name = raw.get("name", "")
        if not isinstance(name, str):
            raise ChannelConfigError(f"{path}.name: must be a string")
        return cls(kind=kind, url=url, name=name, secret=secret, min_severity=min_severity, severities=severities)


def _severity(value: Any, path: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise ChannelConfigError(f"{path}: must be one of {[s.value for s in Severity]}, got {value!r}") from None


@dataclass(frozen=True)
class DeliveryResult:
    channel: str
    kind: ChannelKind
    delivered: bool
    attempts: int
    status_code: int | None = None
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# Payloads and signatures
# ---------------------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """For receivers: constant-time check of an X-Governance-Signature header against the raw body."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats <...> as links/mentions; these three escapes are all it asks for.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict[str, Any]:
    headline = f"[{message.severity.upper()}] {message.title}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(message.text)[:3000] or " "}},
    ]
    if message.fields:
        blocks.append(
            {
                "type": "section",
                # Slack accepts at most 10 fields per section.
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_slack_escape(k)}*\n{_slack_escape(v)}"}
                    for k, v in list(message.fields.items())[:10]
                ],
            }
        )
    if message.url:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{message.url}|Open in the portal>"}]}
        )
    return {"text": f"{headline}\n{message.text}", "blocks": blocks}


def webhook_body(message: Message, *, delivery_id: str, sent_at: int) -> bytes:
    payload = {
        "delivery_id": delivery_id,
        "sent_at": sent_at,
        "source": message.source,
        "severity": message.severity.value,
        "title": message.title,
        "text": message.text,
        "fields": dict(message.fields),
        "url": message.url,
    }
    if message.event:
        payload["event"] = message.event
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


# ---------------------------------------------------------------------------------------------
# Router
# ---------------------------------------------------------------------------------------------


class Router:
    """Routes a message to the channels that accept its severity and delivers it to each.

    Retries: at most `max_attempts` per channel; before attempt n+1 it waits
    min(backoff_max, backoff_base * 2**(n-1)) seconds, or a numeric Retry-After (capped the same way).
    """

    def __init__(
        self,
        channels: Sequence[ChannelConfig | Mapping[str, Any]],
        *,
        client: httpx.Client | None = None,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        timeout: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")
        self.channels = [
            c if isinstance(c, ChannelConfig) else ChannelConfig.from_dict(c, path=f"channels[{i}]")
            for i, c in enumerate(channels)
        ]
        self._client = client or httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT})
        self._owns_client = client is None
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._clock = clock

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def route(self, severity: Severity) -> list[ChannelConfig]:
        return [channel for channel in self.channels if channel.accepts(severity)]

    def send(self, message: Message) -> list[DeliveryResult]:
        delivery_id = str(uuid.uuid4())
        return [self._deliver(channel, message, delivery_id) for channel in self.route(message.severity)]

    def _request(self, channel: ChannelConfig, message: Message, delivery_id: str) -> httpx.Response:
        if channel.kind is ChannelKind.SLACK:
            return self._client.post(channel.url, json=slack_payload(message))
        if channel.kind is ChannelKind.PAGERDUTY:
            return self._client.post(channel.url, json=pagerduty.event(message, routing_key=channel.secret or ""))
        # Re-signed on every attempt so the timestamp says when this attempt was sent.
        sent_at = int(self._clock())
        body = webhook_body(message, delivery_id=delivery_id, sent_at=sent_at)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(channel.secret or "", body),
            TIMESTAMP_HEADER: str(sent_at),
            DELIVERY_HEADER: delivery_id,
        }
        if message.event:
            headers[EVENT_HEADER] = message.event
        return self._client.post(channel.url, content=body, headers=headers)

    def _deliver(self, channel: ChannelConfig, message: Message, delivery_id: str) -> DeliveryResult:
        status: int | None = None
        error: str | None = None
        for attempt in range(1, self.max_attempts + 1):
            retry_after: float | None = None
            try:
                response = self._request(channel, message, delivery_id)
            except httpx.TransportError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if response.is_success:
                    return DeliveryResult(channel.label, channel.kind, True, attempt, status)
                error = f"HTTP {status}: {response.text[:200]}"
                if status != 429 and status < 500:
                    return DeliveryResult(channel.label, channel.kind, False, attempt, status, error)
                retry_after = _retry_after(response.headers.get("Retry-After"))
            if attempt < self.max_attempts:
                delay = self.backoff_base * 2 ** (attempt - 1) if retry_after is None else retry_after
                self._sleep(min(self.backoff_max, delay))
        return DeliveryResult(channel.label, channel.kind, False, self.max_attempts, status, error)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff rather than parse clocks we do not share
    return max(0.0, seconds)


def message_for_alert(
    *,
    slo_name: str,
    service: str,
    environment: str,
    severity: str,
    action: str,
    factor: float,
    long_window: str,
    short_window: str,
    long_burn_rate: float,
    short_burn_rate: float,
    url: str | None = None,
) -> Message:
    """The message a firing burn-rate alert sends (plain values, so callers need not import slo_math)."""
    title = f"{service}/{environment}: {slo_name} burning error budget ({action})"
    text = (
        f"Burn rate {long_burn_rate:.2f}x over {long_window} and {short_burn_rate:.2f}x over {short_window}, "
        f"both above {factor:g}x. See docs/SLOs.md, section 'When an alert fires'."
    )
    fields = {
        "SLO": slo_name,
        "Service": service,
        "Environment": environment,
        "Windows": f"{long_window} / {short_window}",
        "Threshold": f"{factor:g}x",
    }
    return Message(severity=Severity(severity), title=title, text=text, fields=fields, url=url)
