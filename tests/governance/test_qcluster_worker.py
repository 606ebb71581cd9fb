"""A real django-q2 worker process (ORM broker) runs a queued task and feeds the heartbeat."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from governance.models import Heartbeat
from tests.conftest import ROOT


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_real_qcluster__runs_a_queued_task():
    from django_q.tasks import async_task

    Heartbeat.objects.all().delete()
    db = settings.DATABASES["default"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "REDIS_URL": "",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
           "Q_WORKERS": "1"}
    worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Queued through the ORM broker in its own committed transaction (sync mode is off for this call).
        task_id = async_task("governance.tasks.heartbeat", sync=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Heartbeat.objects.filter(name="scheduler").exists():
            time.sleep(0.5)
        assert Heartbeat.objects.filter(name="scheduler").exists(), "the worker never ran the task"
        from django_q.models import Success

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not Success.objects.filter(id=task_id).exists():
            time.sleep(0.5)
        assert Success.objects.filter(id=task_id).exists()
    finally:
        # One SIGTERM to the main process only (a second signal can deadlock qcluster, django-q2#346).
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        connection.close()
