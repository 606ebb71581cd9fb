"""Run a function in several threads at once, each on its own database session (closed when it ends)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_concurrently(fn: Callable[[], Any], times: int = 2) -> list[Any]:
    """Start `times` threads that call `fn` together (after a barrier); wait for all; their results, in finishing
    order. An exception in a thread is re-raised here."""
    from django.db import connection

    barrier, results, errors = threading.Barrier(times), [], []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            result = fn()
            with lock:
                results.append(result)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
