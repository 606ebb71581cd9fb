"""The worker supervisor on real processes: a dead worker is restarted with backoff, a worker that ignores SIGTERM
is killed with its whole process group, a stale heartbeat (database up) alerts once and restarts, a fresh one
leaves the worker alone."""

import os
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import Heartbeat
from governance.supervisor import Options, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
# Ignores SIGTERM, and so does the child it starts (as a wedged qcluster and its workers did); writes the child's pid.
STUBBORN = [sys.executable, "-c", """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(600)
"""]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited too
        return stat.read().split()[2] != "Z"


class Made(list):
    """The supervisors a test made, and the alerts they raised."""

    alerts: list[tuple[str, str]]


@pytest.fixture
def supervisors():
    made = Made()
    made.alerts = []
    alerts = made.alerts

    def make(command, **options):
        supervisor = Supervisor(options=Options(command=command, grace=1, backoff_base=0.2, backoff_max=1,
                                                **options), alert=lambda title, text: alerts.append((title, text)))
        made.append(supervisor)
        return supervisor

    make.alerts = alerts  # type: ignore[attr-defined]  # the tests read the alerts through the factory
    yield make
    for supervisor in made:
        supervisor.stop()


def test_worker_exits__is_restarted_with_a_growing_delay(supervisors):
    supervisor = supervisors([sys.executable, "-c", "raise SystemExit(3)"])
    supervisor.start()
    first = supervisor.process
    first.wait(timeout=30)
    started = time.monotonic()
    assert supervisor.check() == "exited"
    assert supervisor.process is not first and supervisor.restarts == 1
    supervisor.process.wait(timeout=30)
    assert supervisor.check() == "exited"
    assert supervisor.restarts == 2 and supervisor.in_a_row == 2
    assert time.monotonic() - started >= 0.2 + 0.4  # 0.2 s, then 0.4 s before the second start


def test_worker_ignores_sigterm__its_whole_process_group_is_killed_after_the_grace(supervisors, tmp_path):
    pid_file = tmp_path / "child.pid"
    supervisor = supervisors([*STUBBORN, str(pid_file)])
    supervisor.start()
    main = supervisor.process.pid
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not pid_file.exists():
        time.sleep(0.1)
    child = int(pid_file.read_text())
    started = time.monotonic()
    assert supervisor.stop() == -9  # SIGKILL: it ignored the SIGTERM
    assert 1 <= time.monotonic() - started < 10
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.1)
    assert not _alive(main) and not _alive(child)


@pytest.mark.django_db
def test_heartbeat_stale_with_the_database_up__alerts_once_and_restarts_the_worker(supervisors):
    Heartbeat.objects.update_or_create(name="scheduler", defaults={"beat_at": timezone.now() - timedelta(minutes=5)})
    supervisor = supervisors(SLEEPER, max_age=60, settle=0)
    supervisor.start()
    supervisor._started_at -= 120  # the worker has run longer than max_age
    before = supervisor.process
    assert supervisor.check() == "stale"
    assert supervisor.restarts == 1 and supervisor.process is not before and before.returncode is not None
    assert len(supervisors.alerts) == 1 and "heartbeat is 300s old" in supervisors.alerts[0][1]
    supervisor._started_at -= 120
    assert supervisor.check() == "stale"  # still stale: restarted again, not alerted again
    assert supervisor.restarts == 2 and len(supervisors.alerts) == 1


@pytest.mark.django_db
def test_heartbeat_stale_but_worker_just_started__waits(supervisors):
    Heartbeat.objects.update_or_create(name="scheduler", defaults={"beat_at": timezone.now() - timedelta(minutes=5)})
    supervisor = supervisors(SLEEPER, max_age=60, settle=0)
    supervisor.start()
    assert supervisor.check() == "waiting"
    assert supervisor.restarts == 0 and supervisors.alerts == []


@pytest.mark.django_db
def test_heartbeat_fresh__the_worker_is_left_alone(supervisors):
    Heartbeat.objects.update_or_create(name="scheduler", defaults={"beat_at": timezone.now()})
    supervisor = supervisors(SLEEPER, max_age=60, settle=0)
    supervisor.start()
    supervisor._started_at -= 120
    process = supervisor.process
    assert supervisor.check() == "fresh"
    assert supervisor.process is process and process.poll() is None and supervisor.restarts == 0
