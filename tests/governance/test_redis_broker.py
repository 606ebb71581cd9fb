"""The Redis broker with leases (governance.redis_broker) against the real Redis at 127.0.0.1:6379.

What a worker that dies mid-run needs from the broker: the task comes back after the lease (Q_RETRY), once
acknowledged it never comes back, and a task that kills its worker every time ends in the dead-letter list
instead of looping forever. The whole path through real django-q2 clusters is in
tests/scaleout/test_two_nodes_live.py.
"""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from django_q.conf import Conf

from governance.redis_broker import ReliableRedis

URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def broker(monkeypatch):
    monkeypatch.setattr(Conf, "REDIS", URL)
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)
    monkeypatch.setattr(Conf, "RETRY", 1)
    monkeypatch.setattr(Conf, "POLL", 0.05)
    monkeypatch.setattr(Conf, "MAX_ATTEMPTS", 2)
    b = ReliableRedis(list_key=f"test-broker-{uuid.uuid4().hex[:8]}")
    try:
        b.connection.ping()
    except redis.ConnectionError as exc:  # pragma: no cover - .ci/run starts Redis
        pytest.fail(f"Redis is not running at {URL}: {exc}")
    yield b
    b.delete_queue()


def _next(b, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = b.dequeue()
        if got:
            return got[0]
    return None


def test_an_acknowledged_task_is_delivered_once(broker):
    broker.enqueue(b"task-1")
    ack_id, payload = _next(broker)
    assert payload == b"task-1"
    assert broker.lock_size() == 1
    broker.acknowledge(ack_id)
    assert broker.lock_size() == 0
    time.sleep(1.2)  # past the lease: nothing comes back
    assert _next(broker, timeout=0.3) is None


def test_a_task_never_acknowledged_comes_back_after_its_lease_first_in_line(broker):
    broker.enqueue(b"crashes")
    first_ack, _ = _next(broker)
    broker.enqueue(b"later")
    time.sleep(1.2)  # the worker "died": no acknowledgement within Q_RETRY
    ack_id, payload = _next(broker)
    assert payload == b"crashes" and ack_id != first_ack
    broker.acknowledge(ack_id)
    assert _next(broker)[1] == b"later"


def test_a_task_that_kills_every_worker_ends_in_the_dead_letter_list(broker):
    broker.enqueue(b"poison")
    assert _next(broker)[1] == b"poison"   # delivery 1, no ack
    time.sleep(1.2)
    assert _next(broker)[1] == b"poison"   # delivery 2 (max_attempts), no ack
    time.sleep(1.2)
    assert _next(broker, timeout=0.5) is None
    assert broker.dead_size() == 1 and broker.queue_size() == 0 and broker.lock_size() == 0


def test_two_clusters_never_receive_the_same_task(broker):
    other = ReliableRedis(list_key=broker.list_key.removeprefix("django_q:").removesuffix(":q"))
    for i in range(40):
        broker.enqueue(f"t{i}".encode())
    seen = []
    for b in [broker, other] * 20:
        got = b.dequeue()
        if got:
            seen.append(got[0][1])
            b.acknowledge(got[0][0])
    assert sorted(seen) == sorted(f"t{i}".encode() for i in range(40))


def test_metrics__read_the_redis_queue_its_leases_and_dead_letters(broker, monkeypatch, client, db):
    """With the Redis broker, /metrics reads Redis (the ORM queue table is empty there and would say 0)."""
    from prometheus_client.parser import text_string_to_metric_families

    monkeypatch.setattr(Conf, "BROKER_CLASS", "governance.redis_broker.ReliableRedis")
    monkeypatch.setattr(Conf, "CLUSTER_NAME", broker.list_key.split(":")[1])  # django_q:<name>:q
    for n in range(3):
        broker.enqueue(f"task-{n}".encode())
    assert _next(broker) is not None  # one leased, not acknowledged

    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").content.decode())}

    value = {name: families[name].samples[0].value
             for name in ("governance_queue_depth", "governance_queue_leased", "governance_queue_dead_letters")}
    assert value == {"governance_queue_depth": 2, "governance_queue_leased": 1, "governance_queue_dead_letters": 0}
    assert families["governance_queue_oldest_task_age_seconds"].samples == []  # not known on Redis: not claimed


def test_metrics__redis_unreachable__says_so_and_the_rest_of_the_scrape_answers(monkeypatch, client, db):
    from prometheus_client.parser import text_string_to_metric_families

    monkeypatch.setattr(Conf, "BROKER_CLASS", "governance.redis_broker.ReliableRedis")
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)

    response = client.get("/metrics")

    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    assert families["governance_queue_broker_up"].samples[0].value == 0
    assert "governance_queue_depth" not in families  # not claimed when it could not be read
    assert families["governance_metrics_database_up"].samples[0].value == 1
