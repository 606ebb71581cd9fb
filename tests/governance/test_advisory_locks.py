"""governance.locks.advisory_lock: two sessions, one holds the lock; the other skips (wait=False) or waits."""

import os
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection, transaction

from governance.locks import advisory_lock, lock_key

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _in_thread(target) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connection.close()  # the thread's own session

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_session_lock_held_by_another_session__the_other_skips_then_gets_it_once_released():
    held, done, seen = threading.Event(), threading.Event(), []

    def holder() -> None:
        with advisory_lock("test:skip", wait=False, scope="session") as acquired:
            seen.append(("holder", acquired))
            held.set()
            done.wait(10)

    thread = _in_thread(holder)
    assert held.wait(10)
    with advisory_lock("test:skip", wait=False, scope="session") as acquired:
        seen.append(("other", acquired))
    done.set()
    thread.join(10)
    with advisory_lock("test:skip", wait=False, scope="session") as acquired:
        seen.append(("after", acquired))

    assert seen == [("holder", True), ("other", False), ("after", True)]


def test_transaction_lock_with_wait__the_other_waits_until_the_holder_commits():
    held, order = threading.Event(), []

    def holder() -> None:
        with transaction.atomic(), advisory_lock("test:wait", wait=True):
            held.set()
            time.sleep(0.5)
            order.append("holder commits")

    thread = _in_thread(holder)
    assert held.wait(10)
    started = time.monotonic()
    with transaction.atomic(), advisory_lock("test:wait", wait=True) as acquired:
        order.append("other acquires")
    thread.join(10)

    assert acquired is True
    assert order == ["holder commits", "other acquires"]
    assert time.monotonic() - started >= 0.3


def test_transaction_lock_without_wait__refused_while_held_and_free_after_the_commit():
    held, done, seen = threading.Event(), threading.Event(), []

    def holder() -> None:
        with transaction.atomic():
            with advisory_lock("test:xact", wait=False):
                pass  # the block ended, the transaction has not: still held
            held.set()
            done.wait(10)

    thread = _in_thread(holder)
    assert held.wait(10)
    with transaction.atomic(), advisory_lock("test:xact", wait=False) as acquired:
        seen.append(acquired)
    done.set()
    thread.join(10)
    with transaction.atomic(), advisory_lock("test:xact", wait=False) as acquired:
        seen.append(acquired)

    assert seen == [False, True]


def test_transaction_lock_outside_a_transaction__refused_before_locking():
    with pytest.raises(RuntimeError, match="needs an open transaction"), advisory_lock("test:none", wait=True):
        pass


def test_lock_key__same_in_another_process_and_distinct_per_name():
    code = "from governance.locks import lock_key; print(lock_key('schemaplans:backfill:7'))"
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)

    assert int(other.stdout) == lock_key("schemaplans:backfill:7")
    assert lock_key("schemaplans:backfill:7") != lock_key("schemaplans:backfill:8")
    assert -(2**63) <= lock_key("x") < 2**63
