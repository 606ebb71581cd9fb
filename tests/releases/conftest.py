"""Fixtures for the releases app: commits, registered releases, gate policies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from governance import services as core
from releases import services
from releases.models import GatePolicy

COMMITS: list[dict[str, Any]] = [
    {"sha": "a" * 40, "message": "feat(cart): save carts for later (#12)", "author": "Dana <dana@example.com>",
     "time": datetime(2025, 3, 1, 9, 0, tzinfo=UTC)},
    {"sha": "b" * 40, "message": "fix: round totals half-even", "author": "Eve <eve@example.com>",
     "time": datetime(2025, 3, 2, 9, 0, tzinfo=UTC)},
]


def commits_json():
    return [{**c, "time": c["time"].isoformat()} for c in COMMITS]


@pytest.fixture
def register(system_user, service):
    def make(version="1.0.0", *, svc=None, actor=None, **fields):
        fields.setdefault("build_sha", "c0ffee" + "0" * 34)
        fields.setdefault("commits", COMMITS)
        result = services.register_release(service=svc or service, version=version, actor=actor or system_user,
                                           reason="test release", **fields)
        return result.release

    return make


@pytest.fixture
def release(register):
    return register("1.0.0")


@pytest.fixture
def gate_policy(system_user, service, production):
    def make(environment=None, **fields):
        env = environment or production
        policy = GatePolicy.objects.filter(service=service, environment=env).first() or GatePolicy(
            service=service, environment=env)
        for key, value in fields.items():
            setattr(policy, key, value)
        core.save_audited(instance=policy, actor=system_user, reason="test policy")
        return policy

    return make


@pytest.fixture
def second_manager(make_user):
    from governance import roles

    return make_user("ralph", roles.RELEASE_MANAGER)


class _Receiver:
    """A real HTTP server on 127.0.0.1 that verifies the portal's signature like a deploy hook would."""

    def __init__(self, secret: str):
        import http.server
        import threading

        from releases import providers

        self.secret = secret
        self.received: list[dict] = []
        self.statuses: list[int] = []  # answers to give, in order; 200 once exhausted
        self.hold = threading.Event()
        self.hold.set()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signature = self.headers.get(providers.SIGNATURE_HEADER)
                valid = providers.verify_signature(receiver.secret, body, signature)
                receiver.received.append({"body": json.loads(body), "valid": valid,
                                          "delivery": self.headers.get(providers.DELIVERY_HEADER),
                                          "event": self.headers.get(providers.EVENT_HEADER)})
                receiver.hold.wait(timeout=30)
                status = 401 if not valid else (receiver.statuses.pop(0) if receiver.statuses else 200)
                answer = json.dumps({"provider_ref": "build-42", "url": "https://shop.example.com"} if status == 200
                                    else {"error": "signature mismatch" if not valid else "busy"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/deploy"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = _Receiver("hook-secret-for-tests")
    yield r
    r.close()


@pytest.fixture
def webhook_service(service, system_user, receiver, monkeypatch):
    """The shop deploys through the signed webhook; its secret is in the environment, never in the database."""
    from releases import providers

    monkeypatch.setenv("SHOP_DEPLOY_SECRET", receiver.secret)
    monkeypatch.setattr(providers, "SLEEP", lambda seconds: None)
    service.deploy_provider = "webhook"
    service.deploy_settings = {"url": receiver.url, "secret_env": "SHOP_DEPLOY_SECRET", "retries": 2}
    core.save_audited(instance=service, actor=system_user, reason="deploy through the hook",
                      update_fields=["deploy_provider", "deploy_settings"])
    return service


@pytest.fixture
def recurring_freeze(system_user, production):
    """Save a recurring freeze through the service (windows are materialised at once); returns (rule, result)."""
    from releases.models import RecurringFreeze

    def make(cron="0 16 * * 5", duration_minutes=3840, *, time_zone="UTC", title="Weekend freeze", service=None,
             environment=None, now=None, actor=None, reason="weekend freeze"):
        rule = RecurringFreeze(title=title, service=service, environment=environment or production, cron=cron,
                               time_zone=time_zone, duration_minutes=duration_minutes)
        result = services.save_recurring_freeze(rule=rule, actor=actor or system_user, reason=reason, now=now)
        return rule, result

    return make


@pytest.fixture
def ci_writer(api, make_token, service):
    return api(make_token("releases:write", "checks:write"))
