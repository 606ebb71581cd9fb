"""Reads that encode a rule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from governance.models import ApiToken, Service


def services_for_token(token: ApiToken) -> QuerySet[Service]:
    """Services a token may see: its restriction list, or all when unrestricted."""
    restricted = list(token.services.all())
    if restricted:
        return Service.objects.filter(pk__in=[s.pk for s in restricted])
    return Service.objects.all()


def token_issuers(owner: Any) -> list[Any]:
    """The people who created or rotated (and so saw the secrets of) the tokens `owner` holds."""
    from django.contrib.auth import get_user_model

    ids = set(ApiToken.history.filter(owner_id=owner.pk, history_type="+").values_list("history_user_id", flat=True))
    return list(get_user_model().objects.filter(pk__in=ids - {None}))


def identities_of(user: Any) -> set[str]:
    """The lower-cased names a person goes by here: login, e-mail and full name."""
    names = {user.get_username(), getattr(user, "email", ""), user.get_full_name() if hasattr(user, "get_full_name")
             else ""}
    return {n.strip().lower() for n in names if n and n.strip()}


def second_person_refusal(actor: Any, *, authors: Iterable[Any] = (), author_identities: Iterable[str] = ()) -> str:
    """Why `actor` may not be the second person on a change by `authors` (users) and `author_identities`
    (lower-cased logins, e-mails, names from commits), or "" when they may. The one four-eyes rule."""
    from governance.services_users import is_service_account

    who = actor.get_username()
    if is_service_account(actor):
        return f"{who} is a service account; service accounts never approve"
    authors = [a for a in authors if a is not None]
    # Whoever issued (and so saw the secret of) a service account's token may have acted through it.
    authors += [issuer for a in authors if is_service_account(a) for issuer in token_issuers(a)]
    if any(a.pk == actor.pk for a in authors):
        return f"{who} made this change or issued the token that did; approvals need another person"
    theirs = {i.strip().lower() for i in author_identities if i and i.strip()}
    for author in authors:
        theirs |= identities_of(author)
    shared = identities_of(actor) & theirs
    if shared:
        return (f"{who} is the same person as the change's author (matching {', '.join(sorted(shared))}); "
                "approvals need another person")
    return ""
