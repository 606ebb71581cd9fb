import hashlib
import hmac
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from governance.notifications.notify import (
    ChannelConfigError,
    Message,
    Router,
    Severity,
    message_for_alert,
)

SECRET = "s3cret-for-tests"


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that checks signatures and can fail the first N requests."""

    url: str
    secret: str = SECRET
    fail_first: int = 0
    fail_status: int = 503
    requests: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signature = self.headers.get("X-Governance-Signature")
            expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
            with receiver.lock:
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                        "signature_ok": signature == expected,
                    }
                )
                failing = len(receiver.requests) <= receiver.fail_first
            if failing:
                status = receiver.fail_status
            elif self.path.startswith("/signed") and signature != expected:
                status = 401
            else:
                status = 200
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"nope")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recv))
    recv.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield recv
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


_routers: list[Router] = []


@pytest.fixture(autouse=True)
def _close_routers() -> Iterator[None]:
    yield
    while _routers:
        _routers.pop().close()


def router(channels: list[dict], **kwargs: object) -> tuple[Router, list[float]]:
    """A router whose backoff sleeps are recorded instead of slept, so retry timing is asserted exactly."""
    delays: list[float] = []
    kwargs.setdefault("backoff_base", 0.01)
    built = Router(channels, sleep=delays.append, timeout=2.0, **kwargs)  # type: ignore[arg-type]  # test helper
    _routers.append(built)
    return built, delays


CRITICAL = Message(
    severity=Severity.CRITICAL,
    title="checkout/production: api-success burning error budget (page)",
    text="Burn rate 83.33x over 1h <and> 500x over 5m",
    fields={"SLO": "api-success"},
    url="https://portal.example.test/slo/1",
)


def test_slack_channel__posts_text_and_blocks(receiver):
    r, _ = router([{"kind": "slack", "url": f"{receiver.url}/slack"}])
    (result,) = r.send(CRITICAL)

    assert (result.delivered, result.attempts, result.status_code) == (True, 1, 200)
    payload = json.loads(receiver.requests[0]["body"])
    assert payload["text"].startswith("[CRITICAL] checkout/production: api-success")
    assert payload["blocks"][0]["type"] == "header"
    assert "&lt;and&gt;" in payload["blocks"][1]["text"]["text"]


def test_signed_webhook__carries_a_verifiable_hmac_and_timestamp(receiver):
    r, _ = router([{"kind": "webhook", "url": f"{receiver.url}/signed", "secret": SECRET}])
    (result,) = r.send(CRITICAL)

    assert result.delivered
    request = receiver.requests[0]
    assert request["signature_ok"]
    payload = json.loads(request["body"])
    assert request["headers"]["X-Governance-Timestamp"] == str(payload["sent_at"])
    assert request["headers"]["X-Governance-Delivery"] == payload["delivery_id"]
    assert (payload["severity"], payload["title"], payload["fields"]) == (
        "critical",
        CRITICAL.title,
        {"SLO": "api-success"},
    )


def test_signed_webhook_with_wrong_secret__is_refused_and_not_retried(receiver):
    r, _ = router([{"kind": "webhook", "url": f"{receiver.url}/signed", "secret": "not-the-secret"}])
    (result,) = r.send(CRITICAL)

    assert (result.delivered, result.status_code, result.attempts) == (False, 401, 1)
    assert len(receiver.requests) == 1


def test_server_errors__are_retried_with_exponential_backoff(receiver):
    receiver.fail_first = 2
    r, delays = router([{"kind": "webhook", "url": f"{receiver.url}/signed", "secret": SECRET}], backoff_base=0.01)
    (result,) = r.send(CRITICAL)

    assert (result.delivered, result.attempts) == (True, 3)
    assert delays == [0.01, 0.02]
    assert len(receiver.requests) == 3
    assert all(req["signature_ok"] for req in receiver.requests)
    assert len({req["headers"]["X-Governance-Delivery"] for req in receiver.requests}) == 1


def test_retries__are_bounded(receiver):
    receiver.fail_first = 100
    r, delays = router(
        [{"kind": "webhook", "url": f"{receiver.url}/signed", "secret": SECRET}],
        max_attempts=3,
        backoff_base=1.0,
        backoff_max=1.5,
    )
    (result,) = r.send(CRITICAL)

    assert (result.delivered, result.attempts, result.status_code) == (False, 3, 503)
    assert len(receiver.requests) == 3
    assert delays == [1.0, 1.5]


def test_client_error__is_not_retried(receiver):
    receiver.fail_first, receiver.fail_status = 100, 400
    r, delays = router([{"kind": "slack", "url": f"{receiver.url}/slack"}])
    (result,) = r.send(CRITICAL)

    assert (result.delivered, result.attempts, result.status_code) == (False, 1, 400)
    assert delays == []


def test_unreachable_endpoint__is_retried_then_reported():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port was free a moment ago and nothing listens on it now: connections are refused.
    r, delays = router([{"kind": "slack", "url": f"http://127.0.0.1:{port}/"}], max_attempts=2)
    (result,) = r.send(CRITICAL)

    assert (result.delivered, result.attempts, result.status_code) == (False, 2, None)
    assert "ConnectError" in (result.error or "")
    assert len(delays) == 1


def test_one_failing_channel__does_not_stop_the_others(receiver):
    receiver.fail_first = 0
    r, _ = router(
        [
            {"kind": "webhook", "url": f"{receiver.url}/signed", "secret": "wrong", "name": "bad"},
            {"kind": "slack", "url": f"{receiver.url}/slack", "name": "slack"},
        ]
    )
    results = {res.channel: res.delivered for res in r.send(CRITICAL)}
    assert results == {"bad": False, "slack": True}


def test_routing__follows_min_severity_and_explicit_severities(receiver):
    r, _ = router(
        [
            {"kind": "slack", "url": f"{receiver.url}/pager", "name": "pager", "min_severity": "critical"},
            {"kind": "slack", "url": f"{receiver.url}/tickets", "name": "tickets", "min_severity": "warning"},
            {"kind": "slack", "url": f"{receiver.url}/info", "name": "info-only", "severities": ["info"]},
            {"kind": "slack", "url": f"{receiver.url}/all", "name": "all"},
        ]
    )

    def routed(severity: Severity) -> list[str]:
        return [res.channel for res in r.send(Message(severity=severity, title="t", text="x"))]

    assert routed(Severity.CRITICAL) == ["pager", "tickets", "all"]
    assert routed(Severity.WARNING) == ["tickets", "all"]
    assert routed(Severity.INFO) == ["info-only", "all"]
    assert sorted(req["path"] for req in receiver.requests) == sorted(
        ["/pager", "/tickets", "/all", "/tickets", "/all", "/info", "/all"]
    )


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"kind": "webhook", "url": "http://127.0.0.1/x"}, "channels[0].secret"),
        ({"kind": "email", "url": "http://127.0.0.1/x"}, "channels[0].kind"),
        ({"kind": "slack", "url": "ftp://example.test"}, "channels[0].url"),
        ({"kind": "slack", "url": "http://127.0.0.1/x", "min_severity": "page"}, "channels[0].min_severity"),
        ({"kind": "slack", "url": "http://127.0.0.1/x", "min_severity": "info", "severities": ["info"]}, "channels[0]"),
        ({"kind": "slack", "url": "http://127.0.0.1/x", "severities": ["info", "loud"]}, "channels[0].severities[1]"),
    ],
)
def test_invalid_channel_config__names_the_field(config, field):
    with pytest.raises(ChannelConfigError, match="^" + re.escape(field) + ":"):
        Router([config])


def test_alert_message__routes_by_the_alert_severity(receiver):
    message = message_for_alert(
        slo_name="api-success",
        service="checkout",
        environment="production",
        severity="warning",
        action="ticket",
        factor=1.4,
        long_window="1d",
        short_window="2h",
        long_burn_rate=1.5,
        short_burn_rate=1.6,
    )
    r, _ = router([{"kind": "slack", "url": f"{receiver.url}/pager", "min_severity": "critical"}])
    assert r.send(message) == []
    assert message.severity is Severity.WARNING
    assert "1.50x over 1d" in message.text
