"""Every admin changelist and change form loads for each role that may see it, with bounded queries."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance import roles, services

MAX_QUERIES = 25


@pytest.fixture
def populated(service, make_token, operator):
    make_token("flags:read")
    service.owners = "team-x"
    services.save_audited(instance=service, actor=operator, reason="populate", update_fields=["owners"])


def _models():
    return [m for m in admin.site._registry if m._meta.app_label in roles.GOVERNED_APPS]


@pytest.mark.parametrize("role", roles.ROLES)
def test_each_role__loads_every_page_it_may_view(client, make_user, populated, role):
    user = make_user(f"user-{role.split()[0].lower()}", role)
    client.force_login(user)
    checked = 0
    for model in _models():
        opts = model._meta
        may_view = user.has_perm(f"{opts.app_label}.view_{opts.model_name}")
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        if not may_view:
            assert response.status_code == 403, url
            continue
        assert response.status_code == 200, url
        assert len(ctx.captured_queries) <= MAX_QUERIES, (url, len(ctx.captured_queries))
        obj = model._default_manager.first()
        if obj is not None:
            change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(change_url).status_code == 200, change_url
            assert len(ctx.captured_queries) <= MAX_QUERIES, (change_url, len(ctx.captured_queries))
            history_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
            assert client.get(history_url).status_code == 200, history_url
        checked += 1
    assert checked >= 3


def test_operator__cannot_open_tokens(client, operator, make_token):
    make_token("flags:read")
    client.force_login(operator)
    assert client.get(reverse("admin:governance_apitoken_changelist")).status_code == 403
