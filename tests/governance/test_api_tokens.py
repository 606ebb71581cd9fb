"""API tokens: shown once, stored as a digest, scoped, expiring, revocable, rotated with a grace period."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from governance import services
from governance.models import ApiToken


def test_create__stores_only_a_digest_of_the_secret(system_user, ci_user):
    issued = services.create_token(name="shop CI", owner=ci_user, scopes=["releases:write"],
                                   actor=system_user, reason="CI for shop")
    row = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.secret.startswith(f"gov_{row.prefix}_")
    assert issued.secret not in (row.digest, row.prefix, row.name)
    assert row.digest == services.digest_secret(issued.secret)
    assert services.authenticate_secret(issued.secret) == row


def test_create__records_actor_and_reason(system_user):
    issued = services.create_token(name="ci", owner=system_user, scopes=["flags:read"], actor=system_user,
                                   reason="for the shop pipeline")
    record = issued.token.history.latest()
    assert (record.history_user, record.history_change_reason) == (system_user, "for the shop pipeline")


@pytest.mark.parametrize("scopes", [[], ["flags:admin"]])
def test_create__refuses_unknown_or_missing_scopes(system_user, scopes):
    with pytest.raises(ValidationError) as exc:
        services.create_token(name="ci", owner=system_user, scopes=scopes, actor=system_user, reason="x")
    assert "scopes" in exc.value.message_dict
    assert not ApiToken.objects.exists()


def test_wrong_secret_with_a_known_prefix__is_refused(make_token):
    secret = make_token("flags:read")
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert services.authenticate_secret(forged) is None


def test_expired_token__is_refused(make_token):
    secret = make_token("flags:read", expires_in=timedelta(seconds=1))
    token = services.authenticate_secret(secret)
    assert token is not None
    assert not token.is_active(now=timezone.now() + timedelta(seconds=2))


def test_revoke__takes_effect_at_once_and_is_safe_to_repeat(make_token, system_user):
    secret = make_token("flags:read")
    token = services.authenticate_secret(secret)
    assert token is not None
    services.revoke_token(token=token, actor=system_user, reason="leaked in a log")
    services.revoke_token(token=token, actor=system_user, reason="again")
    assert services.authenticate_secret(secret) is None
    assert token.history.latest().history_change_reason == "leaked in a log"


def test_rotate__new_token_works_and_old_one_only_for_the_grace_period(make_token, system_user, service):
    old_secret = make_token("releases:write", services_=[service])
    old = services.authenticate_secret(old_secret)
    assert old is not None
    issued = services.rotate_token(token=old, actor=system_user, reason="quarterly rotation",
                                   grace=timedelta(hours=2))
    old.refresh_from_db()
    assert services.authenticate_secret(issued.secret) == issued.token
    assert services.authenticate_secret(old_secret) == old
    assert old.expires_at <= timezone.now() + timedelta(hours=2)
    assert old.rotated_to == issued.token
    assert list(issued.token.services.all()) == [service]
    assert issued.token.scopes == ["releases:write"]
    with pytest.raises(ValidationError):
        services.rotate_token(token=old, actor=system_user, reason="twice")


def test_token_of_a_deactivated_owner__is_refused(make_token, ci_user):
    secret = make_token("flags:read")
    ci_user.is_active = False
    ci_user.save()
    assert services.authenticate_secret(secret) is None


def test_commands__create_rotate_revoke(ci_user, capsys):
    call_command("create_token", "--scope", "audit:read", name="cli", owner="ci-bot", reason="auditor export")
    secret = capsys.readouterr().out.strip()
    token = services.authenticate_secret(secret)
    assert token is not None and token.scopes == ["audit:read"]

    call_command("rotate_token", token.prefix, grace_hours=0.01, reason="rotation drill")
    new_secret = capsys.readouterr().out.strip()
    new = services.authenticate_secret(new_secret)
    assert new is not None
    call_command("revoke_token", new.prefix, reason="done")
    assert services.authenticate_secret(new_secret) is None
    assert "(manage.py revoke_token)" in new.history.latest().history_change_reason


@pytest.mark.parametrize("command, args", [
    ("create_token", ["--scope", "audit:read", "--name", "cli", "--owner", "ci-bot"]),
    ("rotate_token", ["PREFIX"]),
    ("revoke_token", ["PREFIX"]),
])
def test_commands__refuse_a_blank_reason_and_change_nothing(ci_user, make_token, command, args):
    # the command appends "(manage.py …)" to the reason: that suffix must not stand in for a missing reason
    secret = make_token("flags:read")
    token = services.authenticate_secret(secret)
    assert token is not None
    before = ApiToken.objects.count()
    with pytest.raises(CommandError, match="reason"):
        call_command(command, *[token.prefix if a == "PREFIX" else a for a in args], reason="   ")
    assert ApiToken.objects.count() == before
    assert services.authenticate_secret(secret) is not None


@pytest.mark.parametrize("days, message", [(0, "in the future"), (-3, "in the future"), (10**9, "too far")])
def test_create_command__refuses_an_expiry_it_cannot_honour(ci_user, days, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_token", "--scope", "audit:read", name="cli", owner="ci-bot", expires_days=days,
                     reason="auditor export")
    assert not ApiToken.objects.filter(name="cli").exists()


@pytest.mark.parametrize("hours, message", [(-1000.0, "grace"), (float("nan"), "grace"), (float("inf"), "grace")])
def test_rotate_command__refuses_a_grace_period_it_cannot_honour(make_token, hours, message):
    secret = make_token("flags:read")
    token = services.authenticate_secret(secret)
    assert token is not None
    with pytest.raises(CommandError, match=message):
        call_command("rotate_token", token.prefix, grace_hours=hours, reason="rotation drill")
    token.refresh_from_db()
    assert token.rotated_to is None and services.authenticate_secret(secret) is not None


def test_rotate_command__a_grace_beyond_the_expiry_keeps_the_expiry(make_token, capsys):
    token = services.authenticate_secret(make_token("flags:read"))
    assert token is not None
    expires_at = token.expires_at
    call_command("rotate_token", token.prefix, grace_hours=1e9, reason="rotation drill")
    token.refresh_from_db()
    assert token.rotated_to is not None and token.expires_at == expires_at


def test_create_command__a_name_too_long_is_a_message(ci_user):
    with pytest.raises(CommandError, match="100 characters"):
        call_command("create_token", "--scope", "audit:read", name="x" * 101, owner="ci-bot", reason="export")
    assert not ApiToken.objects.exists()
