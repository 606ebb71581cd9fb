"""scripts/run.sh (`make run`) with stand-ins for gunicorn, the worker supervisor and the flag stream that log every signal they get:
the web server outlives the worker's supervisor and the stream, the others stop with the web server, and Ctrl-C
sends exactly one SIGTERM to each."""

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import ROOT

# Logs its name and every SIGTERM to $SIGNAL_LOG/<name>, and its pid to $SIGNAL_LOG/<name>.pid.
STAND_IN = """#!/usr/bin/env bash
case "$*" in *collectstatic*) exit 0 ;; esac
name=$(basename "$0"); case "$*" in *supervise_worker*) name=supervisor ;; esac
echo $$ > "$SIGNAL_LOG/$name.pid"
trap 'echo TERM >> "$SIGNAL_LOG/$name"; exit 0' TERM
while :; do sleep 0.05; done
"""


@pytest.fixture
def run_sh(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "gunicorn", "uvicorn"):
        (bin_dir / name).write_text(STAND_IN)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "BIN": str(bin_dir), "SIGNAL_LOG": str(tmp_path), "PORT": "8799"}
    script = subprocess.Popen(["bash", str(ROOT / "scripts/run.sh")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    pids: dict[str, int] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(pids) < 3:
        pids = {n: int((tmp_path / f"{n}.pid").read_text()) for n in ("gunicorn", "supervisor", "uvicorn")
                if (tmp_path / f"{n}.pid").exists() and (tmp_path / f"{n}.pid").read_text().strip()}
        time.sleep(0.05)
    assert len(pids) == 3, "the stand-ins never started"
    yield script, pids, lambda name: (tmp_path / name).read_text().split() if (tmp_path / name).exists() else []
    if script.poll() is None:
        script.kill()
    for pid in pids.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c__sends_exactly_one_sigterm_to_the_web_server_the_supervisor_and_the_stream(run_sh):
    script, pids, signals = run_sh
    script.send_signal(signal.SIGINT)
    assert script.wait(timeout=20) == 0
    assert signals("gunicorn") == ["TERM"] and signals("supervisor") == ["TERM"] and signals("uvicorn") == ["TERM"]


def test_worker_supervisor_dies__the_web_server_stays_up(run_sh):
    script, pids, signals = run_sh
    os.kill(pids["supervisor"], signal.SIGKILL)
    time.sleep(1.5)
    assert script.poll() is None and _running(pids["gunicorn"]) and signals("gunicorn") == []
    script.send_signal(signal.SIGTERM)
    assert script.wait(timeout=20) == 0
    assert signals("gunicorn") == ["TERM"]


def test_flag_stream_dies__the_web_server_and_the_worker_stay_up(run_sh):
    script, pids, signals = run_sh
    os.kill(pids["uvicorn"], signal.SIGKILL)
    time.sleep(1.5)
    assert script.poll() is None and _running(pids["gunicorn"]) and _running(pids["supervisor"])
    script.send_signal(signal.SIGTERM)
    assert script.wait(timeout=20) == 0
    assert signals("gunicorn") == ["TERM"] and signals("supervisor") == ["TERM"]


def test_web_server_dies__the_worker_and_the_stream_are_stopped_with_one_sigterm(run_sh):
    script, pids, signals = run_sh
    os.kill(pids["gunicorn"], signal.SIGKILL)
    assert script.wait(timeout=20) == 0
    assert signals("supervisor") == ["TERM"] and signals("uvicorn") == ["TERM"]
