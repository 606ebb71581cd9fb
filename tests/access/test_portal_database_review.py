"""The portal's own database, after `manage.py db_roles --apply`, matches the portal's access policy; a history
table that regains UPDATE for the app role is drift. (Roles are cluster-wide: unique names, dropped after.)"""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.db import connection

from access import services
from access.portal_policy import portal_policy
from governance.services import system_user
from recovery import services as dr_services


@pytest.fixture
def split_roles(transactional_db):
    prefix = f"gov_dbaccess_{uuid.uuid4().hex[:8]}"
    migrator, app = f"{prefix}_migrator", f"{prefix}_app"
    call_command("db_roles", apply=True, migrator_role=migrator, app_role=app)
    try:
        yield prefix, migrator, app
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'REASSIGN OWNED BY "{migrator}" TO CURRENT_USER')
            cursor.execute("ALTER SCHEMA public OWNER TO pg_database_owner")
            for role in (migrator, app):
                cursor.execute(f'DROP OWNED BY "{role}"')
                cursor.execute(f'DROP ROLE "{role}"')


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_portal_database__matches_the_db_roles_policy_until_history_is_writable(split_roles, tmp_path):
    prefix, migrator, app = split_roles
    actor = system_user()
    target = dr_services.create_backup_target(name="portal-self", directory=str(tmp_path), actor=actor,
                                              reason="test")  # no dsn_env: the portal's own database
    document = {**portal_policy(migrator=migrator, app=app), "role_patterns": [f"{prefix}_*"]}
    services.create_access_policy(target=target, document=document, actor=actor, reason="test")

    def ours(snapshot):  # other tests of a full run may leave their own roles in this database
        return [(d["code"], d["object"]) for d in snapshot.drift if d["role"] in (migrator, app, "")
                or d["code"] == "owner"]

    assert ours(services.review_access(target=target, actor=actor, reason="test")) == []
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT UPDATE ON governance_auditevent TO "{app}"')
    assert ours(services.review_access(target=target, actor=actor, reason="test")) == [
        ("write-grant", "public.governance_auditevent")]
