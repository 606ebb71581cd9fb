"""`govctl chaos …`: output and exit codes against a real HTTP server on 127.0.0.1.

The server is a small fake of OUR OWN chaos API (the answers docs/CHAOS.md's contract specifies), acceptable for
the CLI's own tests only: the portal's real API is exercised by the chaos app's tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from govctl.cli import main

TOKEN = "chaos-cli-token"
EXPERIMENT = {"title": "db latency", "description": "d", "steady-state-hypothesis": {"title": "t", "probes": []},
              "method": [], "rollbacks": []}


class FakeChaosApi:
    def __init__(self):
        self.final = "completed"
        self.polls = 0
        self.posts: list[tuple[str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"detail": "invalid token"})
                if url.path == "/api/v1/chaos/experiments/":
                    service = parse_qs(url.query).get("service", ["shop"])[0]
                    return self._send(200, [{"id": 1, "key": "db-latency", "service": service, "title": "db latency",
                                             "version": 3}])
                if url.path == "/api/v1/chaos/experiments/shop/db-latency/export":
                    return self._send(200, EXPERIMENT)
                if url.path == "/api/v1/chaos/runs/7/":
                    fake.polls += 1
                    return self._send(200, fake.run())
                if url.path == "/api/v1/chaos/faults/":
                    return self._send(200, [{"id": "12", "service": "shop", "environment": "preview",
                                             "kind": "db_latency", "params": {"ms": 300}, "scope": {},
                                             "expires_at": "2099-01-01T00:00:00Z", "run": 7}])
                return self._send(404, {"detail": "not found"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                fake.posts.append((self.path, body))
                if self.path == "/api/v1/chaos/runs/":
                    fake.polls = 0
                    return self._send(202, {"id": 7, "status": "pending", "url": "/admin/chaos/run/7/"})
                if self.path == "/api/v1/chaos/experiments/":
                    if "method" not in body["definition"]:
                        return self._send(400, {"code": "invalid_experiment", "problems": [
                            {"path": "$.method", "message": "required"}]})
                    return self._send(201, {"id": 1, "key": body["key"], "version": 4})
                if self.path == "/api/v1/chaos/halt":
                    return self._send(200, {"removed": 2, "faults": ["12", "13"]})
                return self._send(404, {"detail": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def run(self):
        status = {1: "pending", 2: "running"}.get(self.polls, self.final)
        phases: list[dict[str, Any]] = [{"name": "hypothesis-before", "status": "completed", "started_at": "2026-12-05T10:00:00Z",
                   "ended_at": "2026-12-05T10:00:01Z",
                   "probes": [{"name": "p95", "value": 120, "tolerance": [0, 300], "ok": True}]}]
        if self.polls >= 2:
            phases.append({"name": "method", "status": "running", "started_at": "2026-12-05T10:00:01Z",
                           "ended_at": None, "probes": []})
        return {"id": 7, "status": status, "verdict": status, "phases": phases, "report_markdown": "# Run 7\n",
                "url": "/admin/chaos/run/7/"}


@pytest.fixture(scope="module")
def fake():
    api = FakeChaosApi()
    yield api
    api.server.shutdown()


@pytest.fixture
def env(fake, monkeypatch):
    monkeypatch.setenv("GOVERNANCE_URL", fake.url)
    monkeypatch.setenv("GOVERNANCE_TOKEN", TOKEN)
    fake.posts.clear()
    return fake


@pytest.mark.parametrize(("final", "code"), [("completed", 0), ("deviated", 1), ("failed", 1), ("aborted", 3),
                                             ("interrupted", 3)])
def test_run_wait__progress_lines_and_exit_code_per_status(env, capsys, final, code):
    env.final = final
    assert main(["chaos", "run", "--service", "shop", "--experiment", "db-latency", "--environment", "preview",
                 "--wait", "--interval", "0.05s", "--timeout", "30s"]) == code
    out, err = capsys.readouterr()
    assert "chaos run #7: shop/db-latency in preview pending" in err
    assert "chaos run #7: running" in err and "chaos run #7: method running" in err
    assert f"chaos run #7: {final.upper()}" in out
    assert "[ok ] p95: 120 (tolerance [0, 300])" in out
    assert env.posts == [("/api/v1/chaos/runs/", {"service": "shop", "experiment": "db-latency",
                                                  "environment": "preview", "reason": "govctl chaos run"})]


def test_run_wait_timeout__exit_1_and_says_how_to_follow(env, capsys):
    env.final = "running"
    assert main(["chaos", "run", "--service", "shop", "--experiment", "db-latency", "--environment", "preview",
                 "--wait", "--interval", "0.05s", "--timeout", "0.3s"]) == 1
    assert "govctl chaos status 7" in capsys.readouterr().err


def test_portal_unreachable__exit_4(monkeypatch, capsys):
    monkeypatch.setenv("GOVERNANCE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GOVERNANCE_TOKEN", TOKEN)
    import govctl.api

    monkeypatch.setattr(govctl.api.Client.__init__, "__defaults__", (None, 0, 0.0))  # no retries: fast
    assert main(["chaos", "faults"]) == 4
    assert "cannot reach the portal" in capsys.readouterr().err


def test_token_refused__exit_4(env, monkeypatch, capsys):
    monkeypatch.setenv("GOVERNANCE_TOKEN", "wrong")
    assert main(["chaos", "list", "--service", "shop"]) == 4
    assert "refused the token" in capsys.readouterr().err


def test_usage_error__exit_2(env):
    with pytest.raises(SystemExit) as exited:
        main(["chaos", "run", "--service", "shop"])
    assert exited.value.code == 2


def test_list_export_import_round_trip(env, capsys, tmp_path):
    assert main(["chaos", "list", "--service", "shop"]) == 0
    assert "shop/db-latency  v3  db latency" in capsys.readouterr().out
    target = tmp_path / "exp.json"
    assert main(["chaos", "export", "--service", "shop", "--experiment", "db-latency", "-o", str(target)]) == 0
    assert json.loads(target.read_text()) == EXPERIMENT
    assert main(["chaos", "import", str(target), "--service", "shop", "--key", "db-latency",
                 "--reason", "tuned"]) == 0
    assert "experiment shop/db-latency version 4" in capsys.readouterr().out
    assert env.posts[-1][1]["definition"] == EXPERIMENT


def test_import_invalid__exit_4_naming_the_json_path(env, capsys, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"title": "x", "description": "y"}))
    assert main(["chaos", "import", str(broken), "--service", "shop", "--key", "k", "--reason", "r"]) == 4
    assert "$.method: required" in capsys.readouterr().err


def test_status_halt_faults(env, capsys):
    env.final, env.polls = "deviated", 5
    assert main(["chaos", "status", "7"]) == 1
    assert "DEVIATED" in capsys.readouterr().out
    assert main(["chaos", "status", "7", "--report"]) == 1
    assert capsys.readouterr().out == "# Run 7\n"
    assert main(["chaos", "halt", "--reason", "drill misbehaves"]) == 0
    assert capsys.readouterr().out.strip() == "halted: 2 fault(s) removed (12, 13)"
    assert env.posts[-1] == ("/api/v1/chaos/halt", {"reason": "drill misbehaves"})
    assert main(["chaos", "faults", "--service", "shop"]) == 0
    assert "#12 shop/preview db_latency {\"ms\": 300}" in capsys.readouterr().out
