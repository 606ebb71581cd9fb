"""The flag SDK for governed services: follow the portal's snapshot, evaluate locally, survive outages.

Nothing happens at import. The first evaluation (or an explicit ``start()``) fetches the snapshot
and starts a daemon thread; a forked child notices its new pid and starts its own thread, HTTP
clients and instance id (sockets and threads do not survive ``fork``), keeping the inherited
snapshot so that workers of a preforking server answer at once.

The thread follows the portal's stream (Server-Sent Events, ``govctl.flags.streaming``): a change applies
within a second. When the stream is not there (no stream route, a proxy that buffers or strips it,
the stream server down) it polls with ETags every ``poll_interval`` instead: at once when an open
stream drops, then after each failed attempt with backoff and jitter; after ``stream_max_failures``
attempts in a row it stays on polling and tries the stream again one poll interval later.
A stream heartbeat confirms the snapshot like a 304 does.

Where answers come from, and the reason they carry:

1. The in-process snapshot, confirmed by the portal (200 or 304) within the last poll interval:
   the evaluator's own reason (STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED).
2. The in-process snapshot when the portal has not confirmed it for longer than a poll interval
   (plus the request timeout; the portal is unreachable or refusing us): CACHED.
3. The last-known-good file, when this process never reached the portal: STALE, for flags whose
   declared ``failureMode`` is ``last_known_good`` (the default when a flag declares none).
4. The declared failure mode otherwise (``fail_closed`` → off, ``fail_open`` → on; for flags
   unknown to every layer, the ``failure_modes`` given to the client, else the caller's default):
   ERROR with error code GENERAL.
"""

from govctl.sdk.client import ChangeListener, FlagClient, get_client
from govctl.sdk.readers import DEFAULT_POLL_INTERVAL, SnapshotRejected, StaticFlagClient

__all__ = ["DEFAULT_POLL_INTERVAL", "ChangeListener", "FlagClient", "SnapshotRejected", "StaticFlagClient",
           "get_client"]
