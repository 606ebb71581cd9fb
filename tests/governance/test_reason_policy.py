"""One reason policy: a reason of exactly REASON_MAX is accepted everywhere and stored whole (with the API's or the
command's context around it); one character more is a clear refusal; composed reasons are cut visibly."""

import pytest
from django.core.management import CommandError
from django.test import Client
from django.urls import reverse

from governance.management.reasons import command_reason
from governance.models import AuditEvent, Environment, Service
from governance.reasons import REASON_MAX, STORED_REASON_MAX, fit_reason

LONGEST_TOKEN_NAME = "t" * 100  # ApiToken.name's max_length


def _register(api, make_token, reason: str):
    client = api(make_token("releases:write", name=LONGEST_TOKEN_NAME))
    return client.post("/api/v1/services", {"slug": "search", "name": "Search", "reason": reason}, format="json")


def test_api_reason_of_exactly_the_limit_with_the_longest_token_name__stored_whole_with_its_prefix(api, make_token):
    reason = "r" * REASON_MAX

    response = _register(api, make_token, reason)

    assert response.status_code == 201, response.json()
    event = AuditEvent.objects.get(model="governance.service", object_id=str(Service.objects.get(slug="search").pk))
    assert event.reason == f"api ({LONGEST_TOKEN_NAME}): {reason}"


def test_api_reason_one_over_the_limit__400_naming_the_reason_and_nothing_written(api, make_token):
    response = _register(api, make_token, "r" * (REASON_MAX + 1))

    assert response.status_code == 400
    body = response.json()
    assert body["errors"]["reason"] == [f"Ensure this field has no more than {REASON_MAX} characters."]
    assert not Service.objects.filter(slug="search").exists()


def test_openapi_schema__states_the_reason_limit(client, db):
    schema = client.get("/api/schema/", {"format": "json"})

    assert schema.status_code == 200
    reason = schema.json()["components"]["schemas"]["FlagChangeInput"]["properties"]["reason"]
    assert reason["maxLength"] == REASON_MAX


def _admin(administrator) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(administrator)
    return client


def _add_environment(client: Client, reason: str):
    return client.post(reverse("admin:governance_environment_add"),
                       {"slug": "qa", "name": "QA", "order": 5, "reason": reason})


def test_admin_reason_of_exactly_the_limit__saved_with_the_whole_reason(administrator):
    reason = "a" * REASON_MAX

    response = _add_environment(_admin(administrator), reason)

    assert response.status_code == 302
    environment = Environment.objects.get(slug="qa")
    assert environment.history.latest().history_change_reason == reason


def test_admin_reason_one_over_the_limit__form_error_and_nothing_saved(administrator):
    response = _add_environment(_admin(administrator), "a" * (REASON_MAX + 1))

    assert response.status_code == 200
    assert f"at most {REASON_MAX} characters" in response.content.decode()
    assert not Environment.objects.filter(slug="qa").exists()


def test_command_reason_of_exactly_the_limit__kept_whole_with_the_command(db):
    assert command_reason("c" * REASON_MAX, "create_token") == "c" * REASON_MAX + " (manage.py create_token)"


def test_command_reason_one_over_the_limit__command_error(db):
    with pytest.raises(CommandError, match=f"{REASON_MAX} characters or fewer"):
        command_reason("c" * (REASON_MAX + 1), "create_token")


def test_composed_reason_over_the_stored_limit__cut_visibly_with_an_ellipsis():
    composed = fit_reason("scheduled change #7: " + "x" * STORED_REASON_MAX)

    assert len(composed) == STORED_REASON_MAX
    assert composed.endswith("…") and composed.startswith("scheduled change #7: ")
    assert fit_reason("short") == "short"
