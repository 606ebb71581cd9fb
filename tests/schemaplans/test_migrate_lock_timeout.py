"""`manage.py migrate` runs migrations with a lock_timeout, which is why the linter does not ask for one."""

from __future__ import annotations

import importlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection


def show_lock_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        return cursor.fetchone()[0]


def test_migrate__runs_migrations_under_a_lock_timeout_and_resets_it(db, lintapp):
    probe = importlib.import_module("tests.schemaplans.migration_sets.probe.0001_probe")
    probe.SEEN.clear()
    lintapp("probe")
    call_command("migrate", "lintapp", verbosity=0)
    call_command("migrate", "lintapp", "zero", "--lock-timeout", "1500ms", verbosity=0)
    call_command("migrate", "lintapp", verbosity=0)
    assert probe.SEEN == ["5s", "5s"]
    assert show_lock_timeout() == "0"  # the session is left as it was


def test_migrate__custom_lock_timeout_is_used(db, lintapp):
    probe = importlib.import_module("tests.schemaplans.migration_sets.probe.0001_probe")
    probe.SEEN.clear()
    lintapp("probe")
    call_command("migrate", "lintapp", "--lock-timeout", "1500ms", verbosity=0)
    assert probe.SEEN == ["1500ms"]


def test_migrate__zero_or_garbage_lock_timeout__is_refused(db):
    for value in ("0", "5 seconds", "-1s"):
        with pytest.raises(CommandError, match="--lock-timeout must be a positive duration"):
            call_command("migrate", f"--lock-timeout={value}", verbosity=0)
