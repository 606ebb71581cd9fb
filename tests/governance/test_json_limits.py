"""JSON nested deeper than JSON_MAX_DEPTH (32) or holding NUL is refused by the API (400 problem JSON) and by every
admin JSON field (a form error); a value stored deeper before the cap existed never makes a page 500."""

import json

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.forms import JSONField as FormJSONField
from django.test import Client, RequestFactory
from django.urls import reverse

from flags import services as flag_services
from flags.models import FlagState
from governance.json_safety import TOO_DEEP_KEY, JSONFormField
from tests.governance.test_admin_robustness import FormFields


def nested(levels: int) -> object:
    """A document `levels` deep: [[[...["x"]...]]]."""
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.fixture
def flag(service, system_user):
    return flag_services.create_flag(service=service, key="deep", actor=system_user, reason="fixture")


@pytest.fixture
def root_client(make_user):
    client = Client(raise_request_exception=False)
    client.force_login(make_user("root", superuser=True))
    return client


def _change(api, token, body: bytes):
    return api(token).generic("POST", "/api/v1/flags/shop/preview/deep/changes", body,
                              content_type="application/json")


def test_every_admin_json_field__is_the_capped_form_field():
    request = RequestFactory().get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
    found = []
    for model, model_admin in admin.site._registry.items():
        form = model_admin.get_form(request, model())  # the change form (an add page may have its own form)
        for name, field in form.base_fields.items():
            if isinstance(field, FormJSONField):
                found.append(f"{model._meta.label}.{name}")
                assert isinstance(field, JSONFormField), f"{model._meta.label}.{name} is not capped"
    assert "flags.FlagState.strategies" in found and "governance.Service.deploy_settings" in found


@pytest.mark.parametrize(("label", "body", "problem"), [
    ("33 levels", {"payload": nested(32)}, "nested more than 32 levels"),
    ("900 levels", {"payload": nested(899)}, "nested more than 32 levels"),
    ("100,000 levels", None, "nested more than 32 levels"),
    ("NUL in a value", {"payload": {"strategies": [{"name": "a\x00b"}]}}, "NUL"),
    ("NUL in a key", {"payload": {"strategies": [{"a\x00b": "default"}]}}, "NUL"),
])
def test_api_body_too_deep_or_with_nul__is_a_400_problem_and_nothing_changes(api, make_token, flag, preview,
                                                                             label, body, problem):
    state = FlagState.objects.get(flag=flag, environment=preview)
    raw = (b"[" * 100_000 + b"]" * 100_000) if body is None else json.dumps(
        {"operation": "set_strategies", "reason": "test", **body}).encode()
    response = _change(api, make_token("flags:write", "flags:read"), raw)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    assert problem in response.json()["detail"]
    assert FlagState.objects.get(pk=state.pk).revision == state.revision


def test_api_body_32_levels_deep__passes_the_parser(api, make_token, flag):
    body = {"operation": "set_strategies", "reason": "test", "payload": nested(31)}  # the body object + 31 lists = 32
    response = _change(api, make_token("flags:write", "flags:read"), json.dumps(body).encode())
    assert response.status_code == 400  # the serializer's refusal, not the parser's
    assert "nested" not in response.json()["detail"] and "payload" in response.json()["errors"]


@pytest.mark.parametrize(("value", "message"), [
    (json.dumps([{"name": "default", "parameters": nested(40)}]), "nested more than 32 levels"),
    ("[" * 5000 + "]" * 5000, "nested at most 32 levels"),
    ('[{"name": "\\u0000"}]', "NUL"),
    ('[{"\\u0000": "default"}]', "NUL"),
])
def test_admin_json_field_too_deep_or_with_nul__is_a_form_error_and_nothing_changes(root_client, flag, preview,
                                                                                    value, message):
    state = FlagState.objects.get(flag=flag, environment=preview)
    url = reverse("admin:flags_flagstate_change", args=[state.pk])
    parser = FormFields()
    parser.feed(root_client.get(url).content.decode())
    response = root_client.post(url, {**parser.data, "_save": ["Save"], "reason": ["test"], "strategies": [value]})
    assert response.status_code == 200  # the form again, with the error
    assert message in response.content.decode()
    assert FlagState.objects.get(pk=state.pk).revision == state.revision


def test_value_stored_900_deep_before_the_cap__every_page_shows_a_marker_not_a_500(root_client, flag, production):
    state = FlagState.objects.get(flag=flag, environment=production)
    with connection.cursor() as cursor:  # as the API once accepted it
        cursor.execute("UPDATE flags_flagstate SET strategies = %s::jsonb WHERE id = %s",
                       [json.dumps(nested(900)), state.pk])
    pages = [reverse("admin:flags_flag_changelist"), reverse("admin:flags_flag_change", args=[flag.pk]),
             reverse("admin:flags_flagstate_changelist"), reverse("admin:flags_flagstate_change", args=[state.pk])]
    for page in pages:
        response = root_client.get(page)
        assert response.status_code == 200, page
    assert TOO_DEEP_KEY in root_client.get(pages[-1]).content.decode()
    assert FlagState.objects.get(pk=state.pk).strategies[TOO_DEEP_KEY].startswith("stored value nested more than 32")
