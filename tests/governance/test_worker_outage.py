"""For real: PostgreSQL (a throwaway cluster of its own, never the shared server) is stopped three times for 12-14 s
under write load, and the supervised django-q2 worker resumes taking tasks within a bound after each outage.

One run of bench/worker_outage.py (module-scoped: about 2.5 minutes) gives the figures every test reads.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

BOUND_SECONDS = 45  # stale limit 15 s + settle 3 s + SIGTERM grace 5 s + backoff + a qcluster start, with room


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    log = tmp_path_factory.mktemp("worker-outage") / "supervisor.log"
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'client'}:{ROOT}", "WORKER_OUTAGE_LOG": str(log)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run([sys.executable, "bench/worker_outage.py", "--outages", "3", "--bound",
                             str(BOUND_SECONDS), "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["log"] = log.read_text()
    return data


def test_three_outages_of_12_to_14_seconds__tasks_resume_within_the_bound_after_each(figures):
    outages = figures["outages"]
    assert len(outages) == 3
    assert all(12 <= o["down_s"] <= 14 for o in outages)
    assert [o["resumed"] for o in outages] == [True, True, True], outages
    assert all(o["seconds_to_resume"] <= BOUND_SECONDS for o in outages)


def test_work_queued_under_load__keeps_being_done_between_and_after_the_outages(figures):
    done = [o["tasks_done_before"] for o in figures["outages"]] + [figures["tasks_done"]]
    assert done == sorted(done) and len(set(done)) == 4, done  # more tasks done after every outage
    assert figures["queue_refused_while_down"] > 0  # the load really ran into the outages


def test_a_stale_heartbeat__restarts_the_worker_and_alerts_the_ops_channel(figures):
    stale = [r for r in figures["restart_reasons"] if r.startswith("heartbeat stale")]
    if not stale:
        pytest.skip("the worker never wedged in this run: nothing to restart (it resumed on its own)")
    assert figures["alerts_received"], "a stale heartbeat must reach the notification channel"
    assert all("heartbeat" in text and "stuck" in text for text in figures["alerts_received"])
    assert "restarting the worker (heartbeat stale" in figures["log"]
