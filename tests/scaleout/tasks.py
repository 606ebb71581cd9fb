"""Tasks the scale-out tests hand to real django-q2 clusters (imported by the clusters by dotted path).

They write to `scaleout_runs`, a table the test creates: one row per run, with the process that ran it.
"""

from __future__ import annotations

import os
import signal

from django.db import connection

TABLE = """CREATE TABLE IF NOT EXISTS scaleout_runs (
    id serial PRIMARY KEY, kind text NOT NULL, key text NOT NULL, pid int NOT NULL,
    at timestamptz NOT NULL DEFAULT now())"""
EFFECTS = "CREATE TABLE IF NOT EXISTS scaleout_effects (key text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())"


def _record(kind: str, key: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO scaleout_runs (kind, key, pid) VALUES (%s, %s, %s)", [kind, key, os.getpid()])
        cursor.execute("SELECT count(*) FROM scaleout_runs WHERE kind = %s AND key = %s", [kind, key])
        return int(cursor.fetchone()[0])


def record_slot(key: str) -> str:
    """A scheduled job's run: one row per run."""
    _record("slot", key)
    return key


def crash_once(key: str) -> str:
    """Its first attempt dies with its worker (SIGKILL, mid-run); the next applies the effect, idempotently."""
    attempts = _record("attempt", key)
    if attempts == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO scaleout_effects (key) VALUES (%s) ON CONFLICT DO NOTHING", [key])
    return key
