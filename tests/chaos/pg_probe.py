"""A Chaos Toolkit probe (python provider) for tests/chaos/test_netproxy_with_chaostoolkit.py: the best round
trip of a query through a given address, in seconds. Run inside the `chaos run` process."""

from __future__ import annotations

import time

import psycopg


def select_seconds(host: str, port: int, dbname: str, user: str, password: str = "") -> float:
    with psycopg.connect(host=host, port=int(port), dbname=dbname, user=user, password=password or None,
                         connect_timeout=5, autocommit=True) as conn:
        best = float("inf")
        for _ in range(3):
            started = time.monotonic()
            conn.execute("SELECT 1").fetchall()
            best = min(best, time.monotonic() - started)
    return round(best, 4)
