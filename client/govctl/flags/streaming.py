"""The SDK's side of the flag stream: a Server-Sent Events reader and the reconnect backoff (stdlib + httpx).

The portal's stream (`GET /api/v1/flags/stream`, docs/FLAGS-SDK.md) sends `event: snapshot` (data:
the signed snapshot, id: its ETag), `event: unchanged` (after a `Last-Event-ID` that still holds) and
comment heartbeats. `read_events` turns the lines of an HTTP response into those events, following the
WHATWG parsing rules the stream needs (fields, multi-line data, comments, `retry`).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Iterator

import httpx

STREAM_PATH = "/api/v1/flags/stream"


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    kind: str  # "snapshot", "unchanged", …; "comment" for a heartbeat line, "retry" for a bare retry field
    data: str = ""
    id: str | None = None
    retry_ms: int | None = None


class NotAStream(Exception):
    """The answer is not an event stream (no stream route, a proxy that rewrites it, an error status)."""


def read_events(lines: Iterable[str]) -> Iterator[Event]:
    kind, event_id, retry = "message", None, None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data or kind != "message":
                yield Event(kind, "\n".join(data), event_id, retry)
            elif retry is not None:
                yield Event("retry", "", event_id, retry)  # a reconnection delay alone dispatches no event
            kind, data, retry = "message", [], None
            continue
        if line.startswith(":"):
            yield Event("comment", line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            kind = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            event_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)


def check_stream(response: httpx.Response) -> None:
    """Raise NotAStream unless `response` is a 200 event stream."""
    content_type = response.headers.get("content-type", "")
    if response.status_code != 200 or not content_type.startswith("text/event-stream"):
        raise NotAStream(f"the stream answered {response.status_code} {content_type or '(no content type)'}")


def backoff(failures: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Seconds before reconnect attempt number `failures` (≥ 1): exponential, capped, with jitter, so a
    thousand clients dropped together do not come back together."""
    return min(cap, base * 2 ** max(0, failures - 1)) * random.uniform(0.5, 1.0)  # noqa: S311  # jitter, not a secret
