"""chaos.netproxy speaks Toxiproxy's API well enough for the real Chaos Toolkit Toxiproxy extension
(chaostoolkit-toxiproxy from PyPI): an experiment run by the real `chaos run` CLI adds a latency toxic through
that extension to our proxy in front of the real PostgreSQL; a python probe measures queries through the proxy;
the verdict follows the latency, and the extension's `reset` rollback leaves no toxic behind."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from django.db import connection as django_connection

from chaos import ctk
from tests import conftest

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def netproxy_process():
    process = subprocess.Popen([sys.executable, "-m", "chaos.netproxy", "--api", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, text=True, cwd=conftest.ROOT)
    assert process.stdout is not None
    api = process.stdout.readline().split()[-1]
    yield api
    process.terminate()
    process.wait(10)


@pytest.fixture
def pg_proxy(netproxy_process, db):
    settings = django_connection.settings_dict
    upstream = f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    created = httpx.post(f"{netproxy_process}/proxies", json={"name": "pg", "listen": "127.0.0.1:0",
                                                              "upstream": upstream}, timeout=5)
    assert created.status_code == 201
    yield created.json()["listen"], settings
    httpx.delete(f"{netproxy_process}/proxies/pg", timeout=5)


def _experiment(api, listen, settings, latency_ms):
    host, port = listen.rsplit(":", 1)
    return {
        "title": "queries stay fast with database latency",
        "description": "a latency toxic between the service and PostgreSQL",
        "configuration": {"toxiproxy_url": api},
        "steady-state-hypothesis": {"title": "a query answers within 200 ms", "probes": [{
            "type": "probe", "name": "select-seconds", "tolerance": {"type": "range", "range": [0, 0.2]},
            "provider": {"type": "python", "module": "tests.chaos.pg_probe", "func": "select_seconds",
                         "arguments": {"host": host, "port": int(port), "dbname": settings["NAME"],
                                       "user": settings["USER"], "password": settings["PASSWORD"] or ""}}}]},
        "method": [{"type": "action", "name": "add-latency", "pauses": {"after": 0.1},
                    "provider": {"type": "python", "module": "chaostoxi.toxic.actions",
                                 "func": "create_latency_toxic",
                                 "arguments": {"for_proxy": "pg", "toxic_name": "db-latency",
                                               "latency": latency_ms, "jitter": 0}}}],
        "rollbacks": [{"type": "action", "name": "reset-toxiproxy",
                       "provider": {"type": "python", "module": "chaostoxi.proxy.actions", "func": "reset"}}],
    }


@pytest.mark.parametrize(("latency_ms", "expected"), [(5, "completed"), (400, "deviated")])
def test_toxiproxy_extension_drives_our_proxy__verdict_follows_the_latency(netproxy_process, pg_proxy, latency_ms,
                                                                           expected):
    listen, settings = pg_proxy
    experiment = ctk.export_experiment(_experiment(netproxy_process, listen, settings, latency_ms))

    run = ctk.run_with_chaos_cli(experiment, env={"PYTHONPATH": str(conftest.ROOT)}, timeout=120)

    assert run.verdict == expected, run.output[-3000:]
    assert ctk.replay_verdict(run.journal) == expected
    after = run.journal["steady_states"]["after"]["probes"][0]["output"]
    assert (after >= 0.4) is (expected == "deviated")
    assert httpx.get(f"{netproxy_process}/proxies/pg/toxics", timeout=5).json() == []  # the rollback ran
