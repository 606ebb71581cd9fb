"""chaos.netproxy between psycopg and the real PostgreSQL: each Toxiproxy-style fault is felt by a real client.
The proxy is driven through its HTTP API (Toxiproxy's shape) in one test and in-process in the others."""

from __future__ import annotations

import threading
import time

import httpx
import psycopg
import pytest
from django.db import connection as django_connection

from chaos.netproxy import NetProxy, serve_api

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def netproxy():
    proxy = NetProxy()
    server = serve_api(proxy, "127.0.0.1", 0)
    proxy.api_url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]  # for the tests
    yield proxy
    server.shutdown()
    proxy.close()


@pytest.fixture
def pg(netproxy, db):
    settings = django_connection.settings_dict  # the test database (test_gov_ctk) on the real server
    created = netproxy.create("pg", listen="127.0.0.1:0",
                              upstream=f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}")
    host, port = created["listen"].rsplit(":", 1)

    def connect(**kwargs):
        return psycopg.connect(host=host, port=int(port), dbname=settings["NAME"], user=settings["USER"],
                               password=settings["PASSWORD"] or None, autocommit=True, connect_timeout=3, **kwargs)

    yield connect
    netproxy.delete("pg")


def _timed(conn, sql="SELECT 1"):
    started = time.monotonic()
    conn.execute(sql).fetchall()
    return time.monotonic() - started


def test_passthrough__queries_answer(pg):
    with pg() as conn:
        assert conn.execute("SELECT 40 + 2").fetchone() == (42,)


def test_latency_over_the_http_api__measurable_then_gone(pg, netproxy):
    api = httpx.Client(base_url=netproxy.api_url, timeout=5)
    with pg() as conn:
        baseline = min(_timed(conn) for _ in range(5))
        response = api.post("/proxies/pg/toxics", json={"name": "slow", "type": "latency", "stream": "downstream",
                                                         "attributes": {"latency": 150, "jitter": 10}})
        assert response.status_code == 200 and response.json()["attributes"]["latency"] == 150
        assert [t["name"] for t in api.get("/proxies/pg/toxics").json()] == ["slow"]
        slowed = min(_timed(conn) for _ in range(3))
        assert slowed >= baseline + 0.13
        assert api.delete("/proxies/pg/toxics/slow").status_code == 204
        assert min(_timed(conn) for _ in range(3)) < baseline + 0.1
    assert api.get("/proxies").json()["pg"]["toxics"] == []
    assert api.post("/proxies/pg/toxics", json={"type": "nonsense"}).status_code == 400
    assert api.get("/proxies/nope").status_code == 404


def test_down__refuses_new_connections_and_drops_open_ones(pg, netproxy):
    conn = pg()
    netproxy.set_enabled("pg", False)
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError, match="(?i)refused"):
        pg()
    netproxy.set_enabled("pg", True)
    with pg() as again:
        assert again.execute("SELECT 1").fetchone() == (1,)


def test_reset_peer__open_connection_reset(pg, netproxy):
    with pg() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        netproxy.add_toxic("pg", type="reset_peer", attributes={"timeout": 0})
        time.sleep(0.2)
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")


def test_timeout_zero__stalls_until_removed(pg, netproxy):
    with pg() as conn:
        netproxy.add_toxic("pg", name="stall", type="timeout", attributes={"timeout": 0})
        result: dict[str, tuple] = {}
        worker = threading.Thread(target=lambda: result.setdefault("row", conn.execute("SELECT 7").fetchone()))
        worker.start()
        worker.join(1.0)
        assert worker.is_alive() and not result  # stalled
        netproxy.remove_toxic("pg", "stall")
        worker.join(5)
        assert result["row"] == (7,)


def test_timeout__closes_the_connection_after_the_delay(pg, netproxy):
    with pg() as conn:
        netproxy.add_toxic("pg", type="timeout", attributes={"timeout": 400})
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        assert 0.3 <= time.monotonic() - started < 3


def test_bandwidth__throttles_a_large_result(pg, netproxy):
    sql = "SELECT repeat('x', 150000)"
    with pg() as conn:
        baseline = _timed(conn, sql)
        netproxy.add_toxic("pg", type="bandwidth", attributes={"rate": 100})  # KB/s
        throttled = _timed(conn, sql)
    assert throttled >= 1.2  # 150 KB at 100 KB/s
    assert throttled > 5 * baseline


def test_toxicity_zero__never_applies(pg, netproxy):
    with pg() as conn:
        netproxy.add_toxic("pg", type="latency", toxicity=0.0, attributes={"latency": 500})
        assert max(_timed(conn) for _ in range(3)) < 0.4


def test_command_line__runs_the_proxy_and_its_api(db):
    import subprocess
    import sys

    settings = django_connection.settings_dict
    process = subprocess.Popen([sys.executable, "-m", "chaos.netproxy", "--api", "127.0.0.1:0", "--proxy",
                                f"pg=127.0.0.1:0:{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        proxy_line, api_line = process.stdout.readline(), process.stdout.readline()
        assert proxy_line.startswith("proxy pg: 127.0.0.1:")
        api = api_line.split()[-1]
        listen = httpx.get(f"{api}/proxies/pg", timeout=5).json()["listen"]
        host, port = listen.rsplit(":", 1)
        with psycopg.connect(host=host, port=int(port), dbname=settings["NAME"], user=settings["USER"],
                             password=settings["PASSWORD"] or None, connect_timeout=3) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        process.terminate()
        process.wait(10)
