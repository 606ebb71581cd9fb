"""The application role cannot rewrite history: a real connection as that role is refused."""

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from governance.models import AuditEvent


@pytest.fixture
def app_role_conn(service, transactional_db):
    call_command("db_roles", apply=True, migrator_role="gov_test_migrator", app_role="gov_test_app")
    s = connection.settings_dict
    conn = psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, dbname=s["NAME"],
                           user="gov_test_app", autocommit=True)
    yield conn
    conn.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_app_role__cannot_update_or_delete_history(app_role_conn, service):
    table = service.history.model._meta.db_table
    for statement in (f"UPDATE {table} SET name = 'forged'", f"DELETE FROM {table}",
                      f"TRUNCATE {table}", "UPDATE governance_auditevent SET reason = 'forged'",
                      "DELETE FROM governance_auditevent"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_role_conn.execute(statement)
    assert service.history.filter(name="forged").count() == 0
    assert AuditEvent.objects.filter(reason="forged").count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_app_role__can_read_and_append_history_and_change_ordinary_rows(app_role_conn, service):
    app_role_conn.execute("UPDATE governance_service SET owners = 'via app role' WHERE slug = 'shop'")
    count = app_role_conn.execute(f"SELECT count(*) FROM {service.history.model._meta.db_table}").fetchone()[0]
    assert count >= 1
    app_role_conn.execute(
        "INSERT INTO governance_auditevent (at, actor_name, model, object_id, object_repr, change, reason, "
        "changes, history_id, source) VALUES (now(), 'x', 'm', '1', 'r', '~', 'appended', '[]', 1, 'other')"
    )
    assert AuditEvent.objects.filter(reason="appended").exists()


def test_db_roles__prints_sql_without_applying(db, capsys):
    call_command("db_roles")
    out = capsys.readouterr().out
    assert "REVOKE UPDATE, DELETE, TRUNCATE ON \"governance_historicalservice\" FROM \"governance_app\"" in out
    assert "ALTER SCHEMA public OWNER TO \"governance_migrator\"" in out
