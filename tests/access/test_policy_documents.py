"""Policy documents: checked before they are stored, typed as YAML in the admin, and the portal's own."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from access import policy
from access.forms import parse_policy
from access.portal_policy import portal_policy


def test_anon_role_that_writes__is_refused():
    doc = {"roles": {"web_anon": {"kind": "anon", "login": True}}, "write": {"web_anon": ["public.orders"]}}
    assert policy.problems(doc) == ["roles.web_anon: an anon role may not write (remove it from 'write' and 'append')."]


def test_service_role_that_bypasses_rls__is_refused():
    doc = {"roles": {"svc": {"kind": "service", "bypassrls": True}}}
    assert policy.problems(doc) == ["roles.svc: a service role may not bypass row-level security."]


def test_unknown_keys_and_undeclared_grantees__are_named():
    found = policy.problems({"roles": {"a": {}}, "writes": {}, "read": {"ghost": ["public.t"]}})
    assert "Unknown key 'writes' (known: append, owner, policies, read, rls_required, role_patterns, roles, write)." \
        in found
    assert "read.ghost: not a declared role." in found


def test_yaml_aliases__are_refused():
    with pytest.raises(ValidationError, match="aliases"):
        parse_policy("a: &x [1, 2]\nb: *x\n")


def test_yaml_and_json__both_parse():
    assert parse_policy("roles:\n  a: {login: true}\n") == parse_policy('{"roles": {"a": {"login": true}}}')


def test_portal_policy__is_db_roles_split_with_history_append_only(db):
    doc = portal_policy()
    assert policy.problems(doc) == []
    assert doc["owner"] == "governance_migrator" and doc["write"] == {"governance_app": ["*"]}
    assert "public.governance_auditevent" in doc["append"]["governance_app"]
    assert "public.flags_historicalflag" in doc["append"]["governance_app"]
