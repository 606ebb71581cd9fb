"""An experiment exported by chaos.ctk runs under the REAL `chaos run` CLI (chaostoolkit from PyPI) against a
small real HTTP server on 127.0.0.1 standing in for a governed service; the verdict read from chaostoolkit's
journal equals the one our tolerance semantics give on the same probe outputs.

The stand-in also answers the two portal paths a fault action and its rollback call (POST faults, POST halt) so
that the exported wiring (URL from configuration, bearer token from an env secret) is exercised end to end; the
real portal API is tested by the chaos app's own live tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chaos import ctk

TOKEN = "test-token-for-chaos-cli"


class _StandIn(BaseHTTPRequestHandler):
    faults: list[dict] = []
    calls: list[tuple[str, str, str | None]] = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        type(self).calls.append(("GET", self.path, self.headers.get("Authorization")))
        broken = any(self.path.startswith(tuple(f["scope"]["paths"] or ["/"])) for f in type(self).faults)
        if broken:
            self._send(503, {"status": "down"})
        else:
            self._send(200, {"status": "up", "checks": [{"name": "db", "ok": True}]})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        type(self).calls.append(("POST", self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"detail": "no token"})
        elif self.path == ctk.FAULTS_PATH:
            type(self).faults.append(body)
            self._send(201, {"id": str(len(type(self).faults)), "expires_at": "2099-01-01T00:00:00Z"})
        elif self.path == ctk.HALT_PATH:
            removed = len(type(self).faults)
            type(self).faults.clear()
            self._send(200, {"removed": removed, "faults": []})
        else:
            self._send(404, {})


@pytest.fixture(scope="module")
def stand_in():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _reset():
    _StandIn.faults.clear()
    _StandIn.calls.clear()


def _experiment(base_url, fault_paths):
    return {
        "title": "health holds under an HTTP error fault",
        "description": "inject 503s on some paths; the health endpoint must keep answering",
        "tags": ["test"],
        "steady-state-hypothesis": {"title": "the service is healthy", "probes": [
            ctk.http_probe(name="health-answers-200", url=f"{base_url}/health", tolerance=200),
            ctk.http_probe(name="health-says-up", url=f"{base_url}/health",
                           tolerance={"type": "jsonpath", "path": "$.status", "expect": "up", "target": "body"}),
        ]},
        "method": [ctk.fault_action(name="inject-503", service="svc", environment="preview", kind="http_errors",
                                    params={"status": 503}, scope={"share": 1.0, "paths": fault_paths,
                                                                   "header": None},
                                    ttl_seconds=60, reason="test drill", pause_after=0.2)],
        "rollbacks": [ctk.halt_rollback(reason="test drill over")],
    }


@pytest.mark.parametrize(("fault_paths", "expected"), [(["/other"], "completed"), (["/health"], "deviated")])
def test_exported_experiment_under_chaos_run__verdict_matches_our_semantics(stand_in, fault_paths, expected):
    exported = ctk.export_experiment(_experiment("${portal_url}", fault_paths))
    assert exported["configuration"]["portal_url"] == {"type": "env", "key": "GOVERNANCE_URL"}

    run = ctk.run_with_chaos_cli(exported, env={"GOVERNANCE_URL": stand_in, "GOVERNANCE_TOKEN": TOKEN}, timeout=120)

    assert run.verdict == expected, run.output[-3000:]
    assert ctk.replay_verdict(run.journal) == expected
    posted = [(method, path, auth) for method, path, auth in _StandIn.calls if method == "POST"]
    assert posted == [("POST", ctk.FAULTS_PATH, f"Bearer {TOKEN}"), ("POST", ctk.HALT_PATH, f"Bearer {TOKEN}")]
    assert _StandIn.faults == []  # the rollback ran, whatever the verdict


def test_hypothesis_failing_before_the_method__no_fault_injected_and_not_deviated(stand_in):
    experiment = _experiment(stand_in, ["/other"])
    experiment["steady-state-hypothesis"]["probes"][0]["tolerance"] = [500, 599]
    run = ctk.run_with_chaos_cli(ctk.export_experiment(experiment), env={"GOVERNANCE_URL": stand_in, "GOVERNANCE_TOKEN": TOKEN},
                                 timeout=120)
    assert run.verdict == "completed"  # chaostoolkit's own word: the hypothesis failed before, nothing ran
    assert run.journal["steady_states"]["after"] is None
    assert not any(path == ctk.FAULTS_PATH for _, path, _ in _StandIn.calls)
    assert ctk.replay_verdict(run.journal) == "failed"  # the portal is stricter: a drill that could not start failed


def test_invalid_document__problems_name_json_paths():
    document = {
        "title": "", "description": "d", "tags": ["ok", ""],
        "steady-state-hypothesis": {"title": "t", "probes": [
            {"type": "probe", "name": "p", "provider": {"type": "http"}, "tolerance": {"type": "regex"}},
            {"type": "action", "name": "a", "provider": {"type": "python", "module": "m", "func": "f"},
             "tolerance": 1.5}]},
        "method": [{"type": "action", "name": "x", "pauses": {"after": -1, "during": 2},
                    "provider": {"type": "shell", "path": "/bin/true"}}, {"ref": "nope"}],
        "rollbacks": {"not": "a list"},
        "secrets": {"portal": {"token": {"type": "file"}}},
    }
    with pytest.raises(ctk.ExperimentInvalid) as caught:
        ctk.import_experiment(document)
    paths = {p.path for p in caught.value.problems}
    assert paths == {
        "$.title", "$.tags[1]", "$.secrets.portal.token.type",
        "$.steady-state-hypothesis.probes[0].provider.url", "$.steady-state-hypothesis.probes[0].tolerance",
        "$.steady-state-hypothesis.probes[1].type", "$.steady-state-hypothesis.probes[1].tolerance",
        "$.method[0].pauses.after", "$.method[0].pauses.during", "$.method[0].provider.type", "$.method[1].ref",
        "$.rollbacks",
    }
    assert caught.value.as_dict()["code"] == "invalid_experiment"


def test_not_json__one_problem_at_the_root():
    with pytest.raises(ctk.ExperimentInvalid) as caught:
        ctk.import_experiment("{nope")
    assert [p.path for p in caught.value.problems] == ["$"]


def test_round_trip__import_of_an_export_is_the_export():
    exported = ctk.export_experiment(_experiment("${portal_url}", ["/x"]), portal_url="http://127.0.0.1:9/")
    assert exported["configuration"]["portal_url"] == "http://127.0.0.1:9"
    assert ctk.export_experiment(json.loads(json.dumps(exported))) == exported
    assert ctk.import_experiment(ctk.export_json(exported)) == exported


@pytest.mark.parametrize(("journal", "verdict"), [
    ({"status": "completed", "deviated": False}, "completed"),
    ({"status": "completed", "deviated": True}, "deviated"),
    ({"status": "failed", "deviated": True}, "deviated"),
    ({"status": "failed", "deviated": False}, "failed"),
    ({"status": "aborted", "deviated": False}, "aborted"),
    ({"status": "interrupted", "deviated": False}, "interrupted"),
    ({"status": "running"}, "failed"),
])
def test_journal_status__maps_to_the_run_vocabulary(journal, verdict):
    assert ctk.verdict_from_journal(journal) == verdict
