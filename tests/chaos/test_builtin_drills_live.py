"""The built-in drills against the portal itself, for real: gunicorn, a real qcluster worker running the drills,
a throwaway PostgreSQL that is finally stopped (unreachable) while flags keep answering and halt-all still works.

One module, module-scoped processes, bounded waits (≈ 6-8 minutes on a loaded 2-core machine; run it alone:
`PYTHONPATH=client .venv/bin/python -m pytest -q tests/chaos/test_builtin_drills_live.py`).

Parametrised shorter than in production, on purpose: each method holds its fault DURATION seconds (the built-ins
hold 30 s); "5% API errors for 5 minutes" holds ERRORS_HOLD (240 s) and must abort itself well before. The
error-budget pre-condition is off here (CHAOS_MIN_BUDGET_FRACTION=-1000): the four drills share one young
portal's budget, which the earlier drills' 503s spend; tests/chaos/test_run_engine.py covers the pre-conditions.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.flags.live_portal import Cluster, Portal, QCluster, manage, token_maker

DURATION = 4
ERRORS_HOLD = 240
FINISHED = {"completed", "failed", "aborted", "interrupted", "deviated"}


@pytest.fixture(scope="module")
def live():
    cluster = Cluster()
    lkg_dir = Path(tempfile.mkdtemp(prefix="gov-lkg-"))
    portal = worker = None
    try:
        cluster.start()
        cluster.create_database("portal")
        # DEBUG off: the portal answers a lost database with its 503 page, not Django's debug page.
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "DEBUG": "false",
               "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(), "SECRET_KEY": secrets.token_urlsafe(50),
               "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false", "REDIS_URL": "",
               "DATABASE_URL": cluster.url("portal"), "DATABASE_CONNECT_TIMEOUT": "2", "FLAGS_LKG_DIR": str(lkg_dir),
               "FLAGS_MEMORY_TTL_SECONDS": "0.3", "FLAGS_DB_RETRY_SECONDS": "1", "CONN_MAX_AGE": "0",
               "FLAGS_PORTAL_ENVIRONMENT": "preview", "SLO_SELF_ENVIRONMENT": "preview", "SLO_SELF_FLUSH_SECONDS": "1",
               "CHAOS_MIN_BUDGET_FRACTION": "-1000", "CHAOS_CHECK_INTERVAL_SECONDS": "0.5", "CHAOS_LEASE_SECONDS": "5",
               "CHAOS_MAX_SHARE": "1.0", "Q_WORKERS": "1"}
        manage(env, "migrate", "--noinput")
        token = token_maker(env, "chaos live test")
        secret = token("--name", "drills", "--scope", "chaos:run", "--scope", "chaos:read", "--scope", "flags:read")
        manage(env, "chaos_builtins", "--service", "portal", "--environment", "preview", "--duration",
               str(DURATION), "--reason", "live test")
        # The 5% drill holds its fault up to ERRORS_HOLD s (5 minutes in production): the burn-rate check reads whole
        # minutes (SLI points of the minute in progress are not judged), so the abort comes 1-2 minutes in.
        manage(env, "shell", "-c", "from chaos import builtins, services; from governance.models import Service; "
               "from governance.services import system_user; services.save_experiment(service=Service.objects.get("
               "slug='portal'), key='api-errors-5pct', builtin=True, actor=system_user(), reason='live test: hold "
               f"{ERRORS_HOLD} s', definition=builtins.definition('api-errors-5pct', service='portal', "
               f"duration_seconds={ERRORS_HOLD}))")
        portal = Portal(env)
        env = {**env, "PORTAL_URL": portal.url, "GOVERNANCE_URL": portal.url}
        worker = QCluster(env, lkg_dir / "worker.log")
        yield {"cluster": cluster, "portal": portal, "env": env, "secret": secret, "worker": worker, "lkg": lkg_dir}
    finally:
        if worker is not None:
            worker.stop()
        if portal is not None:
            portal.stop()
        cluster.destroy()
        shutil.rmtree(lkg_dir, ignore_errors=True)


def _api(live) -> httpx.Client:
    return httpx.Client(base_url=live["portal"].url, timeout=15,
                        headers={"Authorization": f"Bearer {live['secret']}"})


def _drill(live, key: str, *, timeout: float = 150) -> dict:
    with _api(live) as api:
        started = api.post("/api/v1/chaos/runs/", json={"service": "portal", "experiment": key,
                                                        "environment": "preview", "reason": f"live test {key}"})
        assert started.status_code == 202, started.text
        url = started.json()["url"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = api.get(url).json()
            if run["status"] in FINISHED:
                return run
            time.sleep(0.5)
    log = (live["lkg"] / "worker.log").read_text()[-3000:]
    raise AssertionError(f"drill {key} did not finish within {timeout} s; worker log:\n{log}")


def _probes(run: dict, phase: str) -> list[dict]:
    return [p for ph in run["phases"] if ph["name"] == phase for p in ph["probes"]]


def _active_faults(live) -> list:
    with _api(live) as api:
        return api.get("/api/v1/chaos/faults/").json()


def test_an_experiment_exported_by_the_portal__runs_under_the_real_chaos_cli_with_the_portals_verdict(live):
    """Chaos Toolkit compatibility on the live portal: the portal's export runs unchanged under `chaos run` (its
    fault action and halt rollback are HTTP calls to this portal), and both give the same verdict. First in the
    module: the 5% drill below leaves a page alert open, which (rightly) stops the portal's own run from starting."""
    from chaos import ctk

    definition = {
        "title": "A 503 on a path nobody probes: the status API stays up",
        "description": "Injects a portal fault through the API, checks the hypothesis, halts every fault.",
        "steady-state-hypothesis": {"title": "the status API answers", "probes": [
            ctk.http_probe(name="status api answers", url="${portal_url}/api/v2/status.json", tolerance=200)]},
        "method": [ctk.fault_action(name="503 on an unused path", service="portal", environment="preview",
                                    kind="http_errors", params={"status": 503},
                                    scope={"share": 1.0, "paths": ["/ctk-unused/"], "header": None},
                                    ttl_seconds=60, reason="chaos toolkit compatibility", pause_after=1)],
        "rollbacks": [ctk.halt_rollback(reason="chaos toolkit compatibility: rollback")],
    }
    with _api(live) as api:
        saved = api.post("/api/v1/chaos/experiments/", json={"service": "portal", "key": "ctk-compat",
                                                            "definition": definition, "reason": "live test"})
        assert saved.status_code == 201, saved.text
        exported = api.get("/api/v1/chaos/experiments/portal/ctk-compat/export")
        assert exported.status_code == 200, exported.text
    cli = ctk.run_with_chaos_cli(exported.json(), timeout=120,
                                 env={"GOVERNANCE_URL": live["portal"].url, "GOVERNANCE_TOKEN": live["secret"]})
    assert [(r["activity"]["name"], r["status"]) for r in cli.journal["run"]] == [
        ("503 on an unused path", "succeeded")], cli.output[-2000:]
    assert [r["status"] for r in cli.journal["rollbacks"]] == ["succeeded"], cli.output[-2000:]
    assert _active_faults(live) == []  # the CLI's rollback halted the fault it injected
    portal_run = _drill(live, "ctk-compat")
    assert cli.verdict == portal_run["status"] == "completed", (cli.output[-2000:], portal_run["verdict"])
    assert ctk.replay_verdict(cli.journal) == cli.verdict  # our tolerance semantics on the CLI's own probe outputs
    assert _active_faults(live) == []


def test_throttled_to_10_percent__clients_back_off_and_get_through(live):
    run = _drill(live, "throttle-10pct")
    assert run["status"] == "completed", run["verdict"]
    during = _probes(run, "method")
    assert any(isinstance(p["value"], dict) and p["value"].get("throttled", 0) > 0 for p in during), during
    assert all(p["value"]["all_had_retry_after"] for p in during if isinstance(p["value"], dict)
               and "all_had_retry_after" in p["value"])
    assert _active_faults(live) == []


def test_database_latency_300ms__p95_within_the_latency_slo(live):
    run = _drill(live, "db-latency-300ms")
    assert run["status"] == "completed", (run["verdict"], run["phases"])
    values = [p["value"] for p in _probes(run, "method") + _probes(run, "hypothesis before")
              if isinstance(p["value"], (int, float))]
    assert values and max(values) <= 400
    assert _active_faults(live) == []


def test_postgres_down__flags_keep_answering_and_the_maintenance_page_shows(live):
    run = _drill(live, "postgres-down")
    assert run["status"] == "completed", (run["verdict"], run["phases"])
    [page] = [p for p in _probes(run, "method") if p["name"] == "maintenance page shows"]
    assert page["value"]["status"] == 503  # the portal's pages answer "down for maintenance" without a database
    [flags] = [p for p in _probes(run, "method") if p["name"] == "flags answer during the outage"]
    assert flags["value"]["answers"] is True
    assert _active_faults(live) == []


def test_5_percent_api_errors__the_page_burn_fires_and_the_drill_aborts_itself(live):
    stop = threading.Event()
    counts = {"ok": 0, "5xx": 0}

    def traffic() -> None:  # the users the drill hurts: steady API traffic, so the burn rate has events
        with httpx.Client(base_url=live["portal"].url, timeout=10) as client:
            while not stop.is_set():
                try:
                    status = client.get("/api/v2/status.json").status_code
                except httpx.HTTPError:
                    continue
                counts["5xx" if status >= 500 else "ok"] += 1

    threads = [threading.Thread(target=traffic, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        run = _drill(live, "api-errors-5pct", timeout=ERRORS_HOLD + 60)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    assert run["status"] == "aborted" and "page-fast burn rate" in run["verdict"], (run["verdict"], counts)
    method = next(p for p in run["phases"] if p["name"] == "method")
    held = (datetime.fromisoformat(method["ended_at"]) - datetime.fromisoformat(method["started_at"])).total_seconds()
    assert held < ERRORS_HOLD - 30  # it stopped itself, well before the end of its method
    assert counts["5xx"] > 0
    assert _active_faults(live) == []


def test_postgres_really_unreachable__flags_answer_from_last_known_good_and_halt_all_still_works(live):
    cluster = live["cluster"]
    with _api(live) as api:
        fault = api.post("/api/v1/chaos/faults/", json={
            "service": "portal", "environment": "preview", "kind": "http_latency", "params": {"ms": 1},
            "scope": {"share": 1.0, "paths": ["/nowhere/"]}, "ttl_seconds": 300, "reason": "before the outage"})
        assert fault.status_code == 201, fault.text
        params = {"service": "portal", "environment": "preview"}
        before = api.get("/api/v1/flags/snapshot", params=params)
        assert [f["id"] for f in before.json()["faults"]] == [str(fault.json()["id"])]
        assert api.post("/api/v1/chaos/halt", json={"reason": "warm the token cache"}).status_code == 200
        fault = api.post("/api/v1/chaos/faults/", json={
            "service": "portal", "environment": "preview", "kind": "http_latency", "params": {"ms": 1},
            "scope": {"share": 1.0, "paths": ["/nowhere/"]}, "ttl_seconds": 300, "reason": "before the outage"})
        fault_id = fault.json()["id"]
        assert api.get("/api/v1/flags/snapshot", params=params).json()["faults"]
        live["worker"].stop()  # its scheduler would only log connection errors
        cluster.stop()  # PostgreSQL is unreachable
        try:
            time.sleep(0.5)
            snapshot = api.get("/api/v1/flags/snapshot", params=params)
            assert snapshot.status_code == 200 and snapshot.json()["faults"], snapshot.text
            page = api.get("/status/")
            assert page.status_code == 503 and page.headers.get("Retry-After")
            halted = api.post("/api/v1/chaos/halt", json={"reason": "database down, drill must stop"})
            assert halted.status_code == 200, halted.text
            assert halted.json()["break_glass"] is True
            after = api.get("/api/v1/flags/snapshot", params=params)
            assert after.status_code == 200 and after.json()["faults"] == []  # at once, without a database
        finally:
            cluster.start()
        deadline = time.monotonic() + 30
        removed = None
        while time.monotonic() < deadline:
            api.get("/api/v1/flags/snapshot", params=params)  # a build replays the break-glass halt
            rows = cluster.query("portal", "SELECT removal_reason FROM chaos_fault WHERE id = %s", (fault_id,))
            removed = rows[0][0] if rows else None
            if removed:
                break
            time.sleep(0.5)
        assert removed and "database down, drill must stop" in removed
