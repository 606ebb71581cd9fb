"""The runbook for the portal's own secrets (docs/RUNBOOK.md § Rotating the portal's own secrets), executed.

SECRET_KEY: sessions survive with SECRET_KEY_FALLBACKS; django-q2 ignores the fallbacks, so a task queued under
the old key is dropped by a worker with the new key unless `manage.py resign_queued_tasks` re-signs the queue
(real qcluster processes on the ORM broker). FLAGS_SIGNING_SECRET must be pinned before, or the flag signatures
change with SECRET_KEY.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from tests.conftest import ROOT

NEW_KEY = "rotated-" + "k" * 60  # ≥ 50 characters, as production requires


def test_session_made_under_the_old_key__survives_with_the_fallback(make_user):
    old = settings.SECRET_KEY
    visitor, absent = Client(), Client()
    visitor.force_login(make_user("ada", "Administrator"))
    absent.force_login(make_user("abel", "Administrator"))
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[old]):
        assert visitor.get("/admin/").status_code == 200  # Django re-hashes the session with the new key here
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]):  # the fallback removed too early
        assert visitor.get("/admin/").status_code == 200
        assert absent.get("/admin/").status_code == 302  # not seen during the overlap: logged out


def test_unsubscribe_link_mailed_under_the_old_key__works_only_while_the_fallback_stays(db):
    from status import subscribers
    from status.models import Subscriber

    first, second = Subscriber.objects.create(email="a@example.com"), Subscriber.objects.create(email="b@example.com")
    mailed = [subscribers.unsubscribe_url(s).rsplit("/", 2)[1] for s in (first, second)]  # before the rotation
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert subscribers.unsubscribe(token=mailed[0]) == first
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]):
        # Unsubscribe links never expire: the old key must stay a fallback as long as old emails matter.
        assert subscribers.unsubscribe(token=mailed[1]) is None


def _setting_in_a_fresh_process(name: str, **env: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True,
                         env={**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", **env})
    return out.stdout.strip()


def test_flag_signing_secret__follows_secret_key_unless_pinned():
    derived_old = _setting_in_a_fresh_process("FLAGS_SIGNING_SECRET", SECRET_KEY="a" * 60, FLAGS_SIGNING_SECRET="")
    derived_new = _setting_in_a_fresh_process("FLAGS_SIGNING_SECRET", SECRET_KEY=NEW_KEY, FLAGS_SIGNING_SECRET="")
    assert derived_old != derived_new  # every SDK would stop verifying snapshots: pin it first (runbook step 1)
    pinned = _setting_in_a_fresh_process("FLAGS_SIGNING_SECRET", SECRET_KEY=NEW_KEY, FLAGS_SIGNING_SECRET=derived_old)
    assert pinned == derived_old


def _worker_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "REDIS_URL": "", "Q_WORKERS": "1",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "SECRET_KEY": NEW_KEY, "SECRET_KEY_FALLBACKS": settings.SECRET_KEY}


def _run_worker_until(done, seconds: float = 60) -> str:
    worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=_worker_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not done():
            time.sleep(0.5)
    finally:
        # One SIGTERM to the main process only (a second signal can deadlock qcluster, django-q2#346).
        worker.send_signal(signal.SIGTERM)
        try:
            out, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            out, _ = worker.communicate()
        connection.close()
    return out.decode(errors="replace")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_task_queued_under_the_old_key__is_dropped_unless_the_queue_is_resigned():
    from django_q.models import OrmQ, Success
    from django_q.tasks import async_task

    # Queued by a process still on the old key (this test process), then a worker starts with the new one.
    dropped = async_task("governance.tasks.heartbeat", sync=False)
    log = _run_worker_until(lambda: not OrmQ.objects.exists())
    assert not OrmQ.objects.exists() and not Success.objects.filter(id=dropped).exists()
    assert "Failed to push task to queue" in log  # django-q2 logs it and deletes the task: lost

    kept = async_task("governance.tasks.heartbeat", sync=False)
    with override_settings(SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        from django_q.conf import Conf

        old_key, Conf.SECRET_KEY = Conf.SECRET_KEY, NEW_KEY  # what the command's own process reads at start
        try:
            call_command("resign_queued_tasks")
        finally:
            Conf.SECRET_KEY = old_key
    _run_worker_until(lambda: Success.objects.filter(id=kept).exists())
    assert Success.objects.filter(id=kept).exists(), "the re-signed task did not run"
