"""For real: a gunicorn portal (DEBUG off) whose own PostgreSQL cluster is stopped answers 503 with Retry-After —
problem JSON on the API, a plain page in the admin — never a 500; flag delivery keeps serving from its cache; and
it answers normally again once PostgreSQL is back. The shared server on 5432 is never touched."""

import base64
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.flags.live_portal import Cluster, Portal, manage


@pytest.fixture(scope="module")
def portal_without_database():
    cluster = Cluster()
    lkg_dir = Path(tempfile.mkdtemp(prefix="gov-lkg-"))
    portal = None
    try:
        cluster.start()
        cluster.create_database("portal")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "DEBUG": "false",
               "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),  # production needs a signing key
               "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false",
               "REDIS_URL": "", "DATABASE_URL": cluster.url("portal"), "DATABASE_CONNECT_TIMEOUT": "2",
               "CONN_MAX_AGE": "0", "FLAGS_LKG_DIR": str(lkg_dir), "FLAGS_MEMORY_TTL_SECONDS": "0.5",
               "FLAGS_DB_RETRY_SECONDS": "1"}
        manage(env, "migrate", "--noinput")
        found = re.search(r"password '([^']+)'", manage(env, "seed_demo").stdout)
        assert found, "seed_demo printed no admin password"
        password = found.group(1)
        secret = manage(env, "create_token", "--name", "ci", "--owner", "ci-bot", "--scope", "flags:read",
                        "--scope", "flags:write", "--reason", "outage test").stdout.strip()
        portal = Portal(env)
        yield cluster, portal, secret, password
    finally:
        if portal is not None:
            portal.stop()
        cluster.destroy()
        shutil.rmtree(lkg_dir, ignore_errors=True)


def _admin_session(portal, password) -> str:
    """Log in through the login form; the session cookie's value (it is Secure: sent by hand over plain HTTP)."""
    with httpx.Client(base_url=portal.url, timeout=10) as browser:
        page = browser.get("/admin/login/")
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert found, page.text[:500]
        token = found.group(1)
        response = browser.post("/admin/login/?next=/admin/", data={
            "csrfmiddlewaretoken": token, "username": "admin", "password": password},
            headers={"Cookie": f"csrftoken={page.cookies['csrftoken']}", "Referer": f"{portal.url}/admin/login/"})
        assert response.status_code == 302, response.text[:500]
        return response.cookies["sessionid"]


def test_database_down__api_and_admin_answer_503_with_retry_after_and_flags_keep_serving(portal_without_database):
    cluster, portal, secret, password = portal_without_database
    shop = {"service": "shop", "environment": "production"}
    session = _admin_session(portal, password)
    change = {"operation": "disable", "reason": "INC-7"}
    with httpx.Client(base_url=portal.url, timeout=15, headers={"Authorization": f"Bearer {secret}"}) as client:
        assert client.get("/api/v1/whoami").status_code == 200
        first = client.get("/api/v1/flags/snapshot", params=shop)
        assert first.status_code == 200
        assert client.get("/admin/", headers={"Cookie": f"sessionid={session}"}).status_code == 200

        cluster.stop()
        try:
            time.sleep(0.6)  # past the in-memory trust period of flag delivery
            answers = {
                "GET whoami": client.get("/api/v1/whoami"),
                "POST a flag change": client.post("/api/v1/flags/shop/preview/new-checkout/changes", json=change),
                "POST a service": client.post("/api/v1/services", json={"slug": "x", "name": "X", "reason": "r"}),
                "GET the flag list": client.get("/api/v1/flags", params=shop),
            }
            for label, response in answers.items():
                assert response.status_code == 503, (label, response.status_code, response.text[:300])
                assert response.headers["Content-Type"] == "application/problem+json", label
                assert response.headers["Retry-After"].isdigit(), label
                assert response.json()["type"].endswith("/database-unavailable"), label
            page = httpx.get(f"{portal.url}/admin/", headers={"Cookie": f"sessionid={session}"}, timeout=15)
            assert page.status_code == 503 and page.headers["Retry-After"].isdigit()
            assert "text/html" in page.headers["Content-Type"] and "database" in page.text
            snapshot = client.get("/api/v1/flags/snapshot", params=shop)  # delivery: from memory, as before
            assert snapshot.status_code == 200 and snapshot.headers["X-Flags-Source"] == "memory"
            assert snapshot.headers["ETag"] == first.headers["ETag"]
            assert client.get("/readyz").status_code == 503
        finally:
            cluster.start()

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and client.get("/api/v1/whoami").status_code != 200:
            time.sleep(0.5)
        assert client.get("/api/v1/whoami").status_code == 200
