"""Real roles, grants and RLS policies: a clean database has no drift, and each kind of drift is named exactly."""

from __future__ import annotations

import pytest

from access import services
from access.models import AccessSnapshot
from governance.services import system_user


def review(target):
    return services.review_access(target=target, actor=system_user(), reason="test: review")


def test_clean_target__has_no_drift(governed):
    scratch, target = governed
    snapshot = review(target)
    assert (snapshot.status, snapshot.drift) == ("clean", [])
    assert set(snapshot.snapshot["roles"]) == {scratch.role("owner"), scratch.role("service"), scratch.role("anon")}
    assert snapshot.snapshot["tables"]["public.orders"]["rls"] is True
    assert snapshot.snapshot["tables"]["public.orders"]["grants"][scratch.role("service")] == [
        "DELETE", "INSERT", "SELECT", "UPDATE"]
    assert snapshot.snapshot["sequences"]["public.orders_id_seq"]["grants"] == {scratch.role("service"): ["USAGE"]}


def test_extra_role__is_drift_naming_the_role(governed):
    scratch, target = governed
    scratch.run("CREATE ROLE {p}_intruder LOGIN BYPASSRLS")
    snapshot = review(target)
    assert snapshot.status == "drift"
    assert [(d["code"], d["object"]) for d in snapshot.drift] == [("role-undeclared", scratch.role("intruder"))]
    assert snapshot.drift[0]["actual"]["bypassrls"] is True
    assert "bypassrls" in snapshot.drift[0]["message"]


def test_extra_write_grant__is_drift_with_the_privileges(governed):
    scratch, target = governed
    scratch.run("GRANT INSERT, UPDATE ON products TO {p}_anon")
    [item] = review(target).drift
    assert (item["code"], item["object"], item["role"]) == ("write-grant", "public.products", scratch.role("anon"))
    assert (item["expected"], item["actual"]) == (["SELECT"], ["INSERT", "SELECT", "UPDATE"])
    assert "INSERT, UPDATE on public.products" in item["message"]


def test_rls_turned_off__is_drift(governed):
    scratch, target = governed
    scratch.run("ALTER TABLE orders DISABLE ROW LEVEL SECURITY")
    [item] = review(target).drift
    assert (item["code"], item["object"], item["expected"], item["actual"]) == (
        "rls-disabled", "public.orders", True, False)


def test_changed_policy__is_drift_with_the_exact_difference(governed):
    scratch, target = governed
    scratch.run("ALTER POLICY tenant_isolation ON orders USING (true)")
    [item] = review(target).drift
    assert (item["code"], item["object"]) == ("policy-changed", "public.orders/tenant_isolation")
    assert item["expected"] == {"using": "(tenant_id = (current_setting('app.tenant'::text))::integer)"}
    assert item["actual"] == {"using": "true"}


@pytest.mark.parametrize(("sql", "code", "obj"), [
    ("ALTER ROLE {p}_service BYPASSRLS", "role-attribute", "{p}_service.bypassrls"),
    ("GRANT {p}_owner TO {p}_service", "membership", "{p}_service"),
    ("GRANT CREATE ON SCHEMA public TO {p}_anon", "schema-create", "public"),
    ("ALTER DEFAULT PRIVILEGES FOR ROLE {p}_owner GRANT INSERT ON TABLES TO {p}_anon", "default-privilege",
     "{p}_owner/*/tables"),
    ("CREATE POLICY open_door ON orders USING (true)", "policy-undeclared", "public.orders/open_door"),
    ("ALTER TABLE products OWNER TO {p}_service", "owner", "public.products"),
    ("GRANT UPDATE ON audit_log TO {p}_service", "write-grant", "public.audit_log"),  # append-only: no UPDATE
    ("GRANT UPDATE (name) ON products TO {p}_anon", "write-grant", "public.products.name"),  # a column grant
])
def test_other_drift__is_named(governed, sql, code, obj):
    scratch, target = governed
    scratch.run(sql)
    found = [(d["code"], d["object"]) for d in review(target).drift]
    assert (code, obj.replace("{p}", scratch.prefix)) in found


def test_create_on_the_database__is_drift(governed):
    scratch, target = governed
    scratch.run(f'GRANT CREATE ON DATABASE "{scratch.database}" TO {{p}}_service')
    try:
        [item] = review(target).drift
        assert (item["code"], item["object"], item["role"]) == ("database-create", scratch.database,
                                                                 scratch.role("service"))
    finally:
        scratch.run(f'REVOKE ALL ON DATABASE "{scratch.database}" FROM {{p}}_service')


def test_history__says_what_changed_since_the_previous_snapshot(governed):
    scratch, target = governed
    first = review(target)
    scratch.run("ALTER TABLE orders DISABLE ROW LEVEL SECURITY", "GRANT DELETE ON products TO {p}_anon")
    second = review(target)
    assert second.previous == first
    assert second.changes == [
        {"path": "tables.public.orders.rls", "before": True, "after": False},
        {"path": f"tables.public.products.grants.{scratch.role('anon')}", "before": ["SELECT"],
         "after": ["DELETE", "SELECT"]},
    ]
    third = review(target)
    assert third.changes == [] and third.previous == second
    assert list(AccessSnapshot.objects.filter(target=target).values_list("status", flat=True)) == [
        "drift", "drift", "clean"]


def test_draft_from_a_clean_snapshot__has_no_drift_against_it(governed):
    from access import policy

    _, target = governed
    snapshot = review(target).snapshot
    draft = policy.draft_from_snapshot(snapshot)
    assert policy.problems(draft) == []
    assert policy.drift(draft, snapshot) == []


def test_declared_role_holding_nothing_here__is_not_missing_and_its_attributes_count(governed):
    _, target = governed
    policy = target.access_policy
    roles = {**policy.document["roles"], "postgres": {"kind": "other", "superuser": False, "login": True}}
    services.update_access_policy(policy=policy, document={**policy.document, "roles": roles}, actor=system_user(),
                                  reason="declare the cluster superuser")
    found = {(d["code"], d["object"]) for d in review(target).drift}
    assert ("role-missing", "postgres") not in found
    assert ("role-attribute", "postgres.superuser") in found
