"""Token management in the admin: create shows the secret once; revoke and rotate ask for a reason."""

import re

from django.urls import reverse

from governance import services
from governance.models import ApiToken


def _login(client, administrator):
    client.force_login(administrator)


def test_add_token__shows_the_secret_once_and_it_works(client, administrator, ci_user, service, api):
    _login(client, administrator)
    response = client.post(reverse("admin:governance_apitoken_add"), {
        "name": "shop CI", "owner": ci_user.pk, "scopes": ["releases:write", "checks:write"],
        "services": [service.pk], "expires_at_0": "2099-01-01", "expires_at_1": "00:00:00",
        "reason": "CI for the shop repo",
    })
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    shown = re.search(rb"<code id=\"secret-[0-9a-f]+\">(gov_[^<]+)</code>", response.content)
    assert shown is not None
    secret = shown.group(1).decode()
    token = ApiToken.objects.get(name="shop CI")
    assert token.history.latest().history_change_reason == "CI for the shop repo"
    assert api(secret).get("/api/v1/whoami").json()["services"] == ["shop"]
    change_page = client.get(reverse("admin:governance_apitoken_change", args=[token.pk])).content
    assert secret.encode() not in change_page


def test_revoke_action__needs_a_reason_then_revokes(client, administrator, make_token):
    secret = make_token("flags:read")
    token = services.authenticate_secret(secret)
    assert token is not None
    _login(client, administrator)
    url = reverse("admin:governance_apitoken_changelist")
    confirm = client.post(url, {"action": "revoke", "_selected_action": [token.pk]})
    assert b"Revoke tokens" in confirm.content and b"reason" in confirm.content
    assert services.authenticate_secret(secret) is not None
    missing = client.post(url, {"action": "revoke", "_selected_action": [token.pk], "confirm": "yes", "reason": ""})
    assert b"This field is required" in missing.content
    done = client.post(url, {"action": "revoke", "_selected_action": [token.pk], "confirm": "yes",
                             "reason": "laptop stolen"})
    assert done.status_code == 302
    assert services.authenticate_secret(secret) is None
    assert token.history.latest().history_change_reason == "laptop stolen"


def test_rotate_action__shows_the_new_secret(client, administrator, make_token):
    token = services.authenticate_secret(make_token("flags:read"))
    assert token is not None
    _login(client, administrator)
    response = client.post(reverse("admin:governance_apitoken_changelist"), {
        "action": "rotate", "_selected_action": [token.pk], "confirm": "yes", "reason": "quarterly"})
    shown = re.search(rb"(gov_[0-9a-f]{8}_[^<]+)</code>", response.content)
    assert shown is not None
    new = services.authenticate_secret(shown.group(1).decode())
    assert new is not None and new.rotated_from == token


def test_service_edit__requires_a_reason(client, administrator, service):
    _login(client, administrator)
    url = reverse("admin:governance_service_change", args=[service.pk])
    data = {"slug": "shop", "name": "Shop 2", "repository_url": "", "owners": "", "deploy_provider": "record",
            "deploy_settings": "{}"}
    assert b"This field is required" in client.post(url, data).content
    assert client.post(url, {**data, "reason": "rename"}).status_code == 302
    service.refresh_from_db()
    assert service.name == "Shop 2" and service.history.latest().history_change_reason == "rename"
