"""Time the public status page and the Statuspage-compatible summary on the demo data (Django test client,
in process: view + template + queries, no network). Usage:
    PYTHONPATH=client DATABASE_URL=… .venv/bin/python manage.py seed_demo
    PYTHONPATH=client DATABASE_URL=… .venv/bin/python bench/status_page.py [requests]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402


def main(n: int) -> None:
    client = Client(HTTP_HOST="localhost")  # an ALLOWED_HOSTS name
    for path in ("/status/", "/api/v2/summary.json", "/status/history.atom", "/status/uptime.json"):
        client.get(path)  # warm up
        queries: list[str] = []

        def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any],
                  queries: list[str] = queries) -> Any:
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(path)
        times = []
        for _ in range(n):
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
        etag = response["ETag"]
        start = time.perf_counter()
        not_modified = client.get(path, HTTP_IF_NONE_MATCH=etag)
        conditional = (time.perf_counter() - start) * 1000
        times.sort()
        print(f"{path}: {n} requests, median {statistics.median(times):.1f} ms, p95 {times[int(n * 0.95) - 1]:.1f} ms, "
              f"{len(queries)} queries, {len(response.content)} bytes; If-None-Match -> {not_modified.status_code} "
              f"in {conditional:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
