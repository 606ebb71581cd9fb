"""Fixtures: a throwaway app (`lintapp`) whose migrations come from tests/schemaplans/migration_sets/<set>."""

from __future__ import annotations

from collections.abc import Callable

import pytest

LINTAPP = "tests.schemaplans.lintapp"


@pytest.fixture
def lintapp(settings) -> Callable[[str], None]:
    """Install `lintapp` with a migration set of tests/schemaplans/migration_sets, or `module=` any package."""

    def use(migration_set: str = "", *, module: str = "") -> None:
        if LINTAPP not in settings.INSTALLED_APPS:
            settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, LINTAPP]
        settings.MIGRATION_MODULES = {"lintapp": module or f"tests.schemaplans.migration_sets.{migration_set}"}

    return use


@pytest.fixture
def plan(service, system_user):
    from schemaplans import services

    return services.create_plan(
        service=service, slug="orders-status-code", table="orders", columns=["status_code"],
        expand_migration="shop.0042_status_code", contract_migration="shop.0045_drop_status",
        verification_sql="SELECT 0", actor=system_user, reason="test fixture",
    )


@pytest.fixture
def outside_db():
    """A psycopg connection to the test database outside the test's transaction (its writes are committed)."""
    from schemaplans import databases

    with databases.connect("default", application_name="tests") as conn:
        yield conn


@pytest.fixture
def committed_table(outside_db):
    """Create committed tables (name -> CREATE body) visible to the engine's own connections; dropped after."""
    created: list[str] = []

    def make(name: str, rows: int, *, columns: str = "old integer, new integer, counter integer NOT NULL DEFAULT 0",
             fill: str = "g, NULL") -> str:
        outside_db.execute(f"DROP TABLE IF EXISTS {name}")
        outside_db.execute(f"CREATE TABLE {name} (id bigint PRIMARY KEY, {columns})")
        if rows:
            names = ", ".join(c.split()[0] for c in columns.split(", ")[:2])
            outside_db.execute(f"INSERT INTO {name} (id, {names}) SELECT g, {fill} FROM generate_series(1, %s) g",
                               [rows])
        outside_db.execute(f"ANALYZE {name}")
        created.append(name)
        return name

    yield make
    for name in created:
        outside_db.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.fixture
def test_dsn() -> str:
    """A DSN for the test database, as a service's DATABASE_URL would hold it."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgresql://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Clock:
    def __init__(self, now):
        self.now = now

    def advance(self, **delta):
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    """Controls django.utils.timezone.now (verification windows span hours)."""
    from django.utils import timezone

    fake = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", lambda: fake.now)
    return fake


@pytest.fixture
def prove():
    """Walk a plan to verified with a one-run, zero-window proof of its (zero-returning) query."""
    from datetime import timedelta

    from governance.services import save_audited
    from schemaplans import services
    from schemaplans.models import SchemaPlan

    S = SchemaPlan.Status

    def walk(plan, user, *, release_version: str = "", contract: bool = False):
        plan.required_zero_runs, plan.verification_window = 1, timedelta(0)
        save_audited(instance=plan, actor=user, reason="fast proof",
                     update_fields=["required_zero_runs", "verification_window"])
        services.transition_plan(plan=plan, to=S.EXPANDED, actor=user, reason="flow", release_version=release_version)
        for to in (S.BACKFILLING, S.BACKFILLED, S.VERIFYING):
            services.transition_plan(plan=plan, to=to, actor=user, reason="flow")
        services.verify_plan(plan=plan, actor=user, reason="proof")
        if contract:
            services.transition_plan(plan=plan, to=S.CONTRACTED, actor=user, reason="contract shipped")
        plan.refresh_from_db()
        return plan

    return walk


@pytest.fixture
def backfill(service, plan, system_user):
    """A registered (pending) backfill on the portal's database, linked to the plan."""
    from schemaplans import services

    return services.create_backfill(
        name="orders: copy status", table="orders", plan=plan,
        sql="UPDATE orders SET status_code = status WHERE id >= %(lo)s AND id < %(hi)s",
        actor=system_user, reason="test fixture",
    )


@pytest.fixture
def start_backfill(system_user, make_user):
    """Start a backfill as production needs it: one person asks (`actor`), a second one approves."""
    from governance import roles
    from schemaplans import services

    second: list = []

    def start(backfill, *, actor=None, reason="go", enqueue=False):
        if not second:
            second.append(make_user("sam-second", roles.MAINTENANCE_ADMIN))
        services.start_backfill(backfill=backfill, actor=actor or system_user, reason=reason, enqueue=enqueue)
        return services.approve_backfill_start(backfill=backfill, actor=second[0], reason=reason, enqueue=enqueue)

    return start
