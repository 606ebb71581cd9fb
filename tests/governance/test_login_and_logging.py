"""Login lockout after repeated failures, and secrets never reach the logs."""

import logging

from django.urls import reverse

from governance import services


def test_repeated_failed_logins__lock_the_account_for_that_client(client, administrator, settings):
    url = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "ada", "password": "wrong"})
    locked = client.post(url, {"username": "ada", "password": "pw-for-tests-only"})
    assert locked.status_code == 429
    assert b"locked" in locked.content.lower()


def test_correct_password_before_the_limit__logs_in(client, administrator):
    url = reverse("admin:login")
    client.post(url, {"username": "ada", "password": "wrong"})
    response = client.post(url + "?next=/admin/", {"username": "ada", "password": "pw-for-tests-only"})
    assert response.status_code == 302


def test_token_and_password__never_appear_in_logs(client, api, make_token, administrator, caplog, system_user):
    secret = make_token("flags:read")
    with caplog.at_level(logging.DEBUG):
        api(secret).get("/api/v1/whoami")
        api(secret + "x").get("/api/v1/whoami")
        api(secret).get("/api/v1/does-not-exist")
        client.post(reverse("admin:login"), {"username": "ada", "password": "a-secret-password-typed-wrong"})
        to_revoke = services.authenticate_secret(secret)
        assert to_revoke is not None
        services.revoke_token(token=to_revoke, actor=system_user, reason="test")
    text = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert secret not in text and secret[12:] not in text
    assert "a-secret-password-typed-wrong" not in text
