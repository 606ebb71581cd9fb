"""Saving the token's change page or one of its history pages: a refusal, never a 500 and never a write."""

from django.test import Client
from django.urls import reverse

from governance import services
from governance.models import ApiToken, AuditEvent


def _token(make_token) -> ApiToken:
    token = services.authenticate_secret(make_token("flags:read", name="shop CI"))
    assert token is not None
    return token


def _administrator_client(administrator) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(administrator)
    return client


def test_change_page_posted__refused_without_a_500_and_the_token_unchanged(make_token, administrator):
    token = _token(make_token)
    client = _administrator_client(administrator)
    url = reverse("admin:governance_apitoken_change", args=[token.pk])
    events = AuditEvent.objects.count()

    response = client.post(url, {"name": "renamed", "scopes": ["flags:write"], "reason": "sweep"})

    assert response.status_code == 403
    token.refresh_from_db()
    assert (token.name, token.scopes) == ("shop CI", ["flags:read"])
    assert AuditEvent.objects.count() == events
    assert client.get(url).status_code == 200  # the page itself still shows the token


def test_history_page_posted__refused_without_a_500_and_the_token_unchanged(make_token, administrator):
    token = _token(make_token)
    services.revoke_token(token=token, actor=administrator, reason="leaked")
    first = token.history.earliest()
    client = _administrator_client(administrator)
    url = reverse("admin:governance_apitoken_simple_history", args=[token.pk, first.history_id])
    history_rows = token.history.count()

    response = client.post(url, {"name": "renamed", "reason": "revert the revocation"})

    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is not None and token.name == "shop CI"
    assert token.history.count() == history_rows
    assert client.get(url).status_code == 200  # the old version can still be looked at
