"""A forked worker (gunicorn preload, multiprocessing) gets its own poller, HTTP client and identity."""

from __future__ import annotations

import json
import os
import threading
import time

from tests.flags.portal_stub import PortalStub

FLAG = {"name": "new-checkout", "enabled": True, "strategies": [{"name": "default"}]}


def _run_in_child(work) -> dict:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        os.close(read_end)
        try:
            payload = json.dumps(work()).encode()
        except BaseException as exc:
            payload = json.dumps({"error": repr(exc)}).encode()
        os.write(write_end, payload)
        os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def test_forked_child__evaluates_and_polls_with_its_own_instance(portal: PortalStub, make_client) -> None:
    portal.publish([FLAG], revision=1)
    client = make_client(background=True, poll_interval=60)
    assert client.is_enabled("new-checkout") is True
    parent_instance = client.instance_id
    parent_thread = client._thread

    def child() -> dict:
        enabled = client.is_enabled("new-checkout")
        polled = client.refresh()
        threads = [t.name for t in threading.enumerate()]
        return {
            "enabled": enabled,
            "reason": client.evaluate("new-checkout").reason,
            "instance": client.instance_id,
            "polled": polled,
            "poller_alive": client._thread is not None and client._thread.is_alive(),
            "new_poller": client._thread is not parent_thread,
            "threads": threads,
        }

    report = _run_in_child(child)

    assert "error" not in report, report
    assert (report["enabled"], report["reason"], report["polled"]) == (True, "STATIC", True)
    assert report["instance"] != parent_instance
    assert report["poller_alive"] and report["new_poller"]
    deadline = time.monotonic() + 5
    while len(portal.heartbeats) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert {beat["instance_id"] for beat in portal.heartbeats} == {parent_instance, report["instance"]}
    assert client.is_enabled("new-checkout") is True  # the parent is unaffected
