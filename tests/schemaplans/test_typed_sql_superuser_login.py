"""Typed SQL never runs on a superuser login: SET ROLE could switch back to it. On a login without SUPERUSER
(CREATEROLE only) it runs as the throwaway role, and even a fooled parser's escape reaches only that login."""

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from governance import sql_rules
from schemaplans import services
from schemaplans.models import SchemaPlan


@pytest.fixture
def superuser_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sql_rules.ALLOW_SUPERUSER_ENV, raising=False)  # as in production


def _dsn(user: str) -> str:
    s = connection.settings_dict
    return f"postgresql://{user}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def createrole_login(db) -> Iterator[str]:
    """A login role with CREATEROLE and nothing else (what docs/SECURITY.md asks of a DSN's user)."""
    name = f"gov_test_login_{secrets.token_hex(4)}"
    with psycopg.connect(_dsn(connection.settings_dict["USER"]), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE").format(sql.Identifier(name)))
        try:
            yield name
        finally:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_verification_on_a_superuser_login__fails_with_the_reason_and_runs_nothing(plan, superuser_refused):
    mismatches, error = services.run_verification_query(SchemaPlan.objects.get(pk=plan.pk))

    assert mismatches is None
    assert error.startswith("typed SQL does not run as a superuser login ('postgres')"), error


@pytest.mark.parametrize("guard", ["read_only", "updating_only"])
def test_superuser_login__refused_before_any_role_is_created(superuser_refused, db, guard):
    with psycopg.connect(_dsn(connection.settings_dict["USER"])) as conn:
        with pytest.raises(sql_rules.SuperuserLogin, match="SET ROLE"):
            if guard == "read_only":
                with sql_rules.read_only(conn, read_all=True):
                    pass
            else:
                with conn.transaction(), sql_rules.updating_only(conn, "django_migrations"):
                    pass
        leftovers = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'gov_typed_sql_%'").fetchone()
    assert leftovers == (0,)


def test_createrole_login__runs_as_the_throwaway_role_and_an_escape_reaches_only_the_login(superuser_refused,
                                                                                          createrole_login):
    with psycopg.connect(_dsn(createrole_login)) as conn, sql_rules.read_only(conn, read_all=True) as as_role:
        assert as_role is True
        assert sql_rules.run_one(conn, "SELECT current_user <> session_user").fetchone() == (True,)
        # What a fooled parser would let through: back to the login user, who is not a superuser.
        sql_rules.run_one(conn, "SELECT set_config('role', 'none', true)")
        assert sql_rules.run_one(conn, "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
                                 ).fetchone() == (createrole_login, False)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            sql_rules.run_one(conn, "SELECT pg_read_file('PG_VERSION')")
