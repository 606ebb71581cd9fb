"""The runbook's database-password and webhook-secret rotations (docs/RUNBOOK.md § Rotating the portal's own
secrets), executed: a throwaway cluster that really checks passwords (scram-sha-256; the test cluster trusts
127.0.0.1), the portal's own database wrapper reconnecting, and a real receiver verifying webhook signatures."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from django.db.backends.postgresql.base import DatabaseWrapper
from django.db.utils import OperationalError
from django.utils import timezone

from access import services as access_services
from access.models import SecretRotation
from governance import outage
from governance.notifications import notify
from governance.notifications import routing as ops_alerts
from governance.services import system_user
from observability import services as obs_services
from observability.models import NotificationChannel
from recovery.engine import pgtools
from recovery.engine.cluster import ThrowawayCluster

ROLE = "gov_dbaccess_portal_app"


@pytest.fixture(scope="module")
def password_cluster() -> Iterator[ThrowawayCluster]:
    """A cluster whose TCP logins need a password (the superuser keeps the socket, for the test's own set-up)."""
    hba_dir = Path(tempfile.mkdtemp(prefix="gov_dbaccess_hba_"))
    (hba_dir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    pgtools.give_to_server_user(hba_dir)
    with ThrowawayCluster(archive=False, settings={"hba_file": str(hba_dir / "pg_hba.conf")}) as cluster:
        with psycopg.connect(host=str(cluster.root), port=cluster.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD 'old-password-1'")
        yield cluster


def _admin(cluster: ThrowawayCluster) -> psycopg.Connection:
    return psycopg.connect(host=str(cluster.root), port=cluster.port, user="postgres", dbname="postgres",
                           autocommit=True)


def _portal_connection(cluster: ThrowawayCluster, password: str) -> DatabaseWrapper:
    """The portal's database wrapper as settings build it (DATABASE_URL -> DATABASES['default'])."""
    return DatabaseWrapper({
        "ENGINE": "django.db.backends.postgresql", "NAME": "postgres", "USER": ROLE, "PASSWORD": password,
        "HOST": "127.0.0.1", "PORT": str(cluster.port), "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 5}, "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False, "TIME_ZONE": None,
        "TEST": {},
    }, alias="rotation")


def _select_one(wrapper: DatabaseWrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def test_role_password_rotation__open_connections_live_on_and_the_portal_reconnects(password_cluster, db):
    running = _portal_connection(password_cluster, "old-password-1")
    assert _select_one(running) == 1
    with _admin(password_cluster) as conn:  # step 2 of the runbook
        conn.execute(f"ALTER ROLE {ROLE} PASSWORD 'new-password-2'")
    # PostgreSQL checks a password when a session starts: connections already open keep working.
    assert _select_one(running) == 1
    running.close()
    with pytest.raises(OperationalError, match="password authentication failed") as refused:
        _select_one(running)  # a process still on the old DATABASE_URL cannot open a new connection
    # libpq gives no SQLSTATE for a refused login: the portal answers it like an outage (503 + Retry-After).
    assert getattr(refused.value.__cause__, "sqlstate", None) is None and outage.database_unavailable(refused.value)
    restarted = _portal_connection(password_cluster, "new-password-2")  # step 3: new DATABASE_URL, restart
    assert _select_one(restarted) == 1
    restarted.close()
    secret = access_services.create_secret(
        service=None, name="DATABASE_URL password", location="env DATABASE_URL on web and worker hosts",
        owner="platform team", last_rotated_at=timezone.now() - timedelta(days=200), max_age_days=180,
        runbook_url="docs/RUNBOOK.md#rotating-the-portals-own-secrets", actor=system_user(), reason="inventory")
    access_services.record_rotation(secret=secret, actor=system_user(), reason="runbook: database role password")
    assert SecretRotation.objects.get(secret=secret).reason == "runbook: database role password"


class _Receiver(BaseHTTPRequestHandler):
    secrets: list[str] = []
    verified: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        header = self.headers.get(notify.SIGNATURE_HEADER)
        matched = [s for s in self.secrets if notify.verify_signature(s, body, header)]
        if matched:
            type(self).verified.append(json.loads(body)["title"])
        self.send_response(204 if matched else 401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_secret_rotation__receiver_overlap_means_no_lost_alert(receiver, monkeypatch, db):
    obs_services.save_channel(channel=NotificationChannel(
        name="ops-hook", kind="webhook", url=receiver, secret_env="GOV_DBACCESS_HOOK_SECRET",
        severities=["warning"]), actor=system_user(), reason="test fixture")

    def alert(title: str) -> bool:
        message = notify.Message(severity=notify.Severity.WARNING, title=title, text="rotation test")
        return all(r.delivered for r in ops_alerts.send(message, ops_alerts.portal_channels()))

    monkeypatch.setenv("GOV_DBACCESS_HOOK_SECRET", "old-hook-secret")
    _Receiver.secrets, _Receiver.verified = ["old-hook-secret"], []
    assert alert("before")
    _Receiver.secrets = ["old-hook-secret", "new-hook-secret"]  # step 1: the receiver accepts both
    assert alert("overlap, portal still old")
    monkeypatch.setenv("GOV_DBACCESS_HOOK_SECRET", "new-hook-secret")  # step 2: the portal's env (read per send)
    assert alert("overlap, portal new")
    _Receiver.secrets = ["new-hook-secret"]  # step 3: the receiver drops the old one
    assert alert("after")
    assert _Receiver.verified == ["before", "overlap, portal still old", "overlap, portal new", "after"]
    monkeypatch.setenv("GOV_DBACCESS_HOOK_SECRET", "old-hook-secret")  # the order the runbook forbids
    assert not alert("stale portal")  # 401: refused, not retried, logged as not delivered
