"""For real: a gunicorn portal loses its PostgreSQL (pg_ctl stop) and keeps serving flags; break glass
engages maintenance at once; when PostgreSQL returns, the override is in the database with its audit record.
"""

import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.flags.live_portal import Cluster, Portal, manage


@pytest.fixture(scope="module")
def outage_setup():
    cluster = Cluster()
    lkg_dir = Path(tempfile.mkdtemp(prefix="gov-lkg-"))
    portal = None
    try:
        cluster.start()
        cluster.create_database("portal")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "DEBUG": "true", "REDIS_URL": "",
               "DATABASE_URL": cluster.url("portal"), "DATABASE_CONNECT_TIMEOUT": "2", "FLAGS_LKG_DIR": str(lkg_dir),
               "FLAGS_MEMORY_TTL_SECONDS": "0.5", "FLAGS_DB_RETRY_SECONDS": "1", "CONN_MAX_AGE": "0"}
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")  # service "shop" with its built-in flags, and the admin user
        secret = manage(env, "create_token", "--name", "shop sdk", "--owner", "ci-bot", "--scope", "flags:read",
                        "--reason", "outage test").stdout.strip()
        portal = Portal(env)
        yield cluster, portal, env, secret, lkg_dir
    finally:
        if portal is not None:
            portal.stop()
        cluster.destroy()
        shutil.rmtree(lkg_dir, ignore_errors=True)


def _client(portal, secret):
    return httpx.Client(base_url=portal.url, timeout=10, headers={
        "Authorization": f"Bearer {secret}", "X-Governance-Service": "shop", "X-Governance-Environment": "production"})


def _features(response):
    return {f["name"]: f["enabled"] for f in response.json()["features"]}


def test_portal__keeps_serving_flags_without_its_database_and_break_glass_is_replayed(outage_setup):
    cluster, portal, env, secret, lkg_dir = outage_setup
    shop = {"service": "shop", "environment": "production"}
    with _client(portal, secret) as client:
        # Healthy: built from the database (and written to the last-known-good file).
        first = client.get("/api/v1/flags/snapshot", params=shop)
        assert first.status_code == 200 and first.headers["X-Flags-Source"] == "database"
        assert client.post("/api/v1/flags/evaluate", json=shop).json()["degraded"] is False
        assert client.post("/ofrep/v1/evaluate/flags/kill_switch_api", json={"context": {}}).status_code == 200
        assert (lkg_dir / "snapshot-shop-production.json").exists()

        cluster.stop()  # PostgreSQL is gone
        time.sleep(0.6)  # past the in-memory trust period: the next read tries the shared cache/database
        assert client.get("/readyz").status_code == 503
        snapshot = client.get("/api/v1/flags/snapshot", params=shop)
        assert snapshot.status_code == 200 and snapshot.headers["X-Flags-Source"] == "memory"
        assert snapshot.headers["ETag"] == first.headers["ETag"]
        answers = client.post("/api/v1/flags/evaluate", json=shop).json()
        assert answers["degraded"] is True
        assert {v["reason"] for v in answers["flags"].values()} == {"CACHED"}
        ofrep = client.post("/ofrep/v1/evaluate/flags/maintenance_mode", json={"context": {"targetingKey": "1"}})
        assert ofrep.status_code == 200 and ofrep.json()["reason"] == "CACHED" and ofrep.json()["value"] is False

        # 3 a.m.: maintenance mode for shop, and for the portal itself, with the database down.
        started = time.monotonic()
        for service in ("shop", "portal"):
            result = manage(env, "flags_break_glass", "engage", "maintenance_mode", "--service", service,
                            "--environment", "production", "--reason", "database down, INC-42")
            assert "IN EFFECT NOW" in result.stdout and "database is unreachable" in result.stdout
        engaged = client.get("/api/v1/flags/snapshot", params=shop)
        assert _features(engaged)["maintenance_mode"] is True and engaged.headers["X-Flags-Break-Glass"] == "1"
        ofrep = client.post("/ofrep/v1/evaluate/flags/maintenance_mode", json={"context": {}}).json()
        assert ofrep["value"] is True
        assert time.monotonic() - started < 30  # two commands and the reads: no waiting for a database
        # The portal honours its own maintenance mode without its database (flag delivery stays up).
        api = client.get("/api/v1/whoami")
        assert api.status_code == 503 and api.headers["Content-Type"] == "application/problem+json"
        page = httpx.get(f"{portal.url}/admin/", headers={"Accept": "text/html"}, timeout=10)
        assert page.status_code == 503 and "maintenance" in page.text.lower() and page.headers["Retry-After"]

        cluster.start()  # the database returns: the next snapshot build replays the overrides
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = client.get("/api/v1/flags/snapshot", params=shop)
            if response.headers["X-Flags-Source"] in ("database", "cache") and not (lkg_dir / "break-glass.json").exists():
                break
            time.sleep(0.3)
        assert response.headers["X-Flags-Source"] in ("database", "cache")
        assert _features(response)["maintenance_mode"] is True and "X-Flags-Break-Glass" not in response.headers

    rows = cluster.query("portal", """
        SELECT s.slug, st.enabled, st.expires_at IS NOT NULL FROM flags_flagstate st
        JOIN flags_flag f ON f.id = st.flag_id JOIN governance_service s ON s.id = f.service_id
        JOIN governance_environment e ON e.id = st.environment_id
        WHERE f.key = 'maintenance_mode' AND e.slug = 'production' ORDER BY s.slug""")
    assert rows == [("portal", True, True), ("shop", True, True)]  # engaged, with the 30-minute expiry
    records = cluster.query("portal", "SELECT service_slug, reason FROM flags_breakglassrecord ORDER BY service_slug")
    assert records == [("portal", "database down, INC-42"), ("shop", "database down, INC-42")]
    audit = cluster.query("portal", """
        SELECT actor_name, reason FROM governance_auditevent
        WHERE model = 'flags.flagstate' AND reason LIKE 'break-glass engage%%' ORDER BY id""")
    assert len(audit) == 2 and all(actor == "system" and "database down, INC-42" in reason for actor, reason in audit)


@pytest.fixture(scope="module")
def two_workers(outage_setup, tmp_path_factory):
    """A second portal on the same cluster: two gunicorn workers sharing a PROMETHEUS_MULTIPROC_DIR (as run.sh)."""
    _, _, env, _, _ = outage_setup
    counters = tmp_path_factory.mktemp("prometheus")
    portal = Portal({**env, "PROMETHEUS_MULTIPROC_DIR": str(counters)}, workers=2)
    try:
        yield portal, counters
    finally:
        portal.stop()


def _scrape(portal) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    response = httpx.get(f"{portal.url}/metrics", timeout=15)
    assert response.status_code == 200, response.text
    return {f.name: f for f in text_string_to_metric_families(response.text)}


def _served(families) -> dict[tuple[str, str], float]:
    family = families.get("governance_flag_snapshots_served")  # absent until some process counted
    return {(s.labels["endpoint"], s.labels["source"]): s.value
            for s in (family.samples if family else []) if s.name.endswith("_total")}


def test_metrics__counts_every_worker_and_answers_with_the_database_down(outage_setup, two_workers):
    cluster, _, _, secret, _ = outage_setup
    two_workers, counters = two_workers
    headers = {"Authorization": f"Bearer {secret}"}
    shop = {"service": "shop", "environment": "production"}
    before = sum(_served(_scrape(two_workers)).values())

    def poll(_):
        # a connection each, eight at a time: both workers take some
        return httpx.get(f"{two_workers.url}/api/v1/flags/snapshot", params=shop, headers=headers,
                         timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(poll, range(40))) == {200}
    counted_by = {p.name for p in counters.glob("counter_*.db")}
    families = _scrape(two_workers)
    # Both workers counted (a file each), and whichever answered the scrape reports the answers of both.
    assert len(counted_by) >= 2, counted_by
    assert sum(_served(families).values()) - before == 40
    assert families["governance_metrics_database_up"].samples[0].value == 1

    cluster.stop()
    try:
        time.sleep(0.6)  # past the in-memory trust period
        for _ in range(4):
            with httpx.Client(base_url=two_workers.url, headers=headers, timeout=10) as client:
                assert client.get("/api/v1/flags/snapshot", params=shop).status_code == 200
        down = _scrape(two_workers)
    finally:
        cluster.start()
    assert down["governance_metrics_database_up"].samples[0].value == 0
    assert "governance_slo_budget_remaining_ratio" not in down  # nothing read from a database it cannot reach
    fallback = {source: n for (endpoint, source), n in _served(down).items() if endpoint == "snapshot"}
    assert fallback.get("memory", 0) + fallback.get("lkg-file", 0) >= 4
