"""django-q2's Redis broker with acknowledgements, so a task whose worker dies mid-run is delivered again.

django-q2's own Redis broker pops a task with BLPOP and forgets it: if the worker running it is SIGKILLed (OOM
killer, a node lost), the task is gone without a trace (found by tests/scaleout/test_two_nodes_live.py). The
ORM broker does not have that defect: it locks a row until `Q_RETRY` and deletes it on acknowledgement. This
broker gives the Redis queue the same contract, on Redis's documented reliable-queue pattern:

- `dequeue` runs one Lua script (atomic on the server): put back every lease that expired (the task is
  delivered again, at the front of the queue), pop the next task, and lease it until now + `Q_RETRY`, keyed by
  a fresh ack id. Redis's own clock (`TIME`) decides expiry, so clusters on several machines agree.
- `acknowledge` (django-q2 calls it once the result is saved, or a failure with `ack_failures`) drops the lease.
- A task delivered more than `max_attempts` times without an acknowledgement (it kills its worker every time)
  is moved to a dead-letter list `<queue>:dead` and logged, instead of looping forever.

Waiting: a script cannot block, so an empty queue is polled every `Q_CLUSTER["poll"]` seconds (as the ORM
broker does); the cost is one round trip per poll per cluster.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from django_q.brokers.redis_broker import Redis as _DjangoQRedis
from django_q.conf import Conf

logger = logging.getLogger(__name__)

# KEYS: queue, leases (zset ack id -> deadline), payloads (hash ack id -> task), deliveries (hash ack id ->
# count), dead (list). ARGV: lease seconds, new ack id, max deliveries (0: unbounded).
_DEQUEUE = """
local now = redis.call('TIME')
local now_s = tonumber(now[1]) + tonumber(now[2]) / 1000000
local max = tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_s)
for _, id in ipairs(expired) do
  local payload = redis.call('HGET', KEYS[3], id)
  local count = tonumber(redis.call('HGET', KEYS[4], id) or '1')
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  if payload then
    if max > 0 and count >= max then
      redis.call('RPUSH', KEYS[5], payload)
    else
      redis.call('LPUSH', KEYS[1], payload)
      redis.call('HSET', KEYS[4], 'next:' .. redis.sha1hex(payload), count)
    end
  end
end
local task = redis.call('LPOP', KEYS[1])
if not task then
  return {false, #expired}
end
local digest = 'next:' .. redis.sha1hex(task)
local count = tonumber(redis.call('HGET', KEYS[4], digest) or '0') + 1
redis.call('HDEL', KEYS[4], digest)
redis.call('ZADD', KEYS[2], now_s + tonumber(ARGV[1]), ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], task)
redis.call('HSET', KEYS[4], ARGV[2], count)
return {task, #expired}
"""


class ReliableRedis(_DjangoQRedis):
    """The Redis broker with leases and acknowledgements (set as `Q_CLUSTER["broker_class"]`)."""

    def __init__(self, list_key: str | None = None) -> None:
        super().__init__(list_key=list_key)
        self.leases_key = f"{self.list_key}:leases"
        self.payloads_key = f"{self.list_key}:inflight"
        self.deliveries_key = f"{self.list_key}:deliveries"
        self.dead_key = f"{self.list_key}:dead"
        self._script: Any = None

    def _keys(self) -> list[str]:
        return [self.list_key, self.leases_key, self.payloads_key, self.deliveries_key, self.dead_key]

    def dequeue(self) -> list[tuple[str, bytes]] | None:
        if self._script is None:
            self._script = self.connection.register_script(_DEQUEUE)
        ack_id = uuid.uuid4().hex
        task, requeued = self._script(keys=self._keys(), args=[Conf.RETRY, ack_id, Conf.MAX_ATTEMPTS or 0])
        if requeued:
            logger.warning("redis broker: %d task lease(s) expired without an acknowledgement; delivered again "
                           "or moved to %s", requeued, self.dead_key)
        if task:
            return [(ack_id, task)]
        time.sleep(Conf.POLL)
        return None

    def acknowledge(self, task_id: str) -> None:
        self.delete(task_id)

    def fail(self, task_id: str) -> None:
        # a task that cannot be unpacked (bad signature) is dropped, as django-q2's brokers do
        self.delete(task_id)

    def delete(self, task_id: str) -> None:
        if not task_id:
            return
        pipe = self.connection.pipeline()
        pipe.zrem(self.leases_key, task_id)
        pipe.hdel(self.payloads_key, task_id)
        pipe.hdel(self.deliveries_key, task_id)
        pipe.execute()

    def lock_size(self) -> int:
        return int(self.connection.zcard(self.leases_key))

    def dead_size(self) -> int:
        return int(self.connection.llen(self.dead_key))

    def delete_queue(self) -> int:
        return int(self.connection.delete(*self._keys()))
