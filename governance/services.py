"""Every state change of the core app. Each takes `actor` and `reason` and records both."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import hooks
from governance.audit_base import Audited, history_recorded_by_caller
from governance.conflicts import Conflict
from governance.models import ApiToken, Environment, Heartbeat, Scope, Service
from governance.reasons import require_reason as require_reason  # re-exported: the policy's home

TOKEN_PREFIX = "gov_"  # noqa: S105 - a public marker, not a secret
LAST_USED_RESOLUTION = timedelta(minutes=1)
_A = TypeVar("_A", bound=Audited)


def system_user() -> AbstractBaseUser:
    """The named actor for commands and scheduled jobs."""
    user, _ = get_user_model().objects.get_or_create(
        username=settings.SYSTEM_USERNAME, defaults={"is_active": False, "first_name": "System"}
    )
    return user


@transaction.atomic
def save_audited(*, instance: _A, actor: Any, reason: str, update_fields: Iterable[str] | None = None) -> _A:
    """Create or update a plain reference row (service, environment) after validating it."""
    instance.stamp(actor=actor, reason=require_reason(reason))
    instance.full_clean()
    fields = list(update_fields) if update_fields is not None and instance.pk else None
    instance.save(update_fields=fields)
    return instance


@transaction.atomic
def create_service(*, slug: str, name: str, actor: Any, reason: str, **fields: Any) -> Service:
    """Register a governed service; apps that need per-service rows hook in via hooks.SERVICE_CREATED.

    A slug already taken is a Conflict (409 in the API), also when another request registers it concurrently."""
    taken = Conflict(f"Service '{slug}' already exists.", code="service-exists")
    if Service.objects.filter(slug=slug).exists():
        raise taken
    service = Service(slug=slug, name=name, **fields)
    try:
        with transaction.atomic():  # a savepoint: the unique slug's violation leaves the transaction usable
            save_audited(instance=service, actor=actor, reason=reason)
    except IntegrityError:
        if Service.objects.filter(slug=slug).exists():  # the insert waited for the other request's commit
            raise taken from None
        raise
    for hook in hooks.SERVICE_CREATED:
        hook(service=service, actor=actor, reason=reason)
    return service


@transaction.atomic
def ensure_environment(*, slug: str, name: str, is_production: bool, order: int,
                       requires_second_person: bool, actor: Any, reason: str) -> Environment:
    env = Environment.objects.filter(slug=slug).first()
    if env is not None:
        return env
    env = Environment(slug=slug, name=name, is_production=is_production, order=order,
                      requires_second_person=requires_second_person)
    return save_audited(instance=env, actor=actor, reason=reason)


# --- API tokens -----------------------------------------------------------------------------------

def digest_secret(secret: str) -> str:
    # The secret carries 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def _new_secret() -> tuple[str, str]:
    prefix = secrets.token_hex(4)
    return prefix, f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def _validate_scopes(scopes: Iterable[str]) -> list[str]:
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in Scope.values]
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(Scope.values)}"})
    if not scopes:
        raise ValidationError({"scopes": "Give the token at least one scope."})
    return scopes


@transaction.atomic
def create_token(*, name: str, owner: Any, scopes: Iterable[str], actor: Any, reason: str,
                 services: Iterable[Service] = (), environments: Iterable[Environment] = (),
                 expires_at: datetime | None = None) -> IssuedToken:
    """Issue a token; the returned secret is the only copy."""
    now = timezone.now()
    expires_at = expires_at or now + timedelta(days=settings.API_TOKEN_DEFAULT_DAYS)
    if expires_at <= now:
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if not name.strip():
        raise ValidationError({"name": "Name the token after what uses it (e.g. 'shop CI')."})
    check_token_owner(owner=owner, actor=actor)
    prefix, secret = _new_secret()
    token = ApiToken(name=name.strip(), owner=owner, prefix=prefix, digest=digest_secret(secret),
                     scopes=_validate_scopes(scopes), created_at=now, expires_at=expires_at)
    services, environments = list(services), list(environments)
    token.stamp(actor=actor, reason=require_reason(reason))
    # The restrictions are many-to-many (set after the row exists): the creation record carries them.
    token._audit_extra_changes = [  # type: ignore[attr-defined]  # read by governance.audit.record_audit_event
        {"field": "services", "old": None, "new": sorted(s.slug for s in services)},
        {"field": "environments", "old": None, "new": sorted(e.slug for e in environments)},
    ]
    token.full_clean(exclude=["scopes"])  # checked above, with a clearer message; this catches e.g. a long name
    token.save()
    token.services.set(services)
    token.environments.set(environments)
    return IssuedToken(token=token, secret=secret)


def check_token_owner(*, owner: Any, actor: Any) -> None:
    """A token belongs to whoever creates it, or to a service account: nobody mints a token that acts (and
    approves) under another person's name."""
    from governance.services_users import is_service_account

    if getattr(owner, "pk", None) is not None and owner.pk == getattr(actor, "pk", None):
        return
    if is_service_account(owner):
        return
    raise ValidationError({"owner": f"A token belongs to the person who creates it ({actor.get_username()}) or to a "
                                    f"service account; {owner.get_username()} is neither."})


@transaction.atomic
def rotate_token(*, token: ApiToken, actor: Any, reason: str, grace: timedelta | None = None) -> IssuedToken:
    """Issue a successor with the same rights; the old token stays valid for the grace period."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not token.is_active():
        raise ValidationError("Only an active token can be rotated; create a new one instead.")
    check_token_owner(owner=token.owner, actor=actor)  # the new secret goes to whoever rotates
    if token.rotated_to is not None:
        raise ValidationError(f"Token {token.prefix} was already rotated to {token.rotated_to.prefix}.")
    grace = grace if grace is not None else timedelta(hours=settings.API_TOKEN_ROTATION_GRACE_HOURS)
    if grace < timedelta(0):
        raise ValidationError({"grace": "The grace period cannot be negative (0 ends the old token at once)."})
    now = timezone.now()
    lifetime = max(token.expires_at - token.created_at, timedelta(days=1))
    issued = create_token(name=token.name, owner=token.owner, scopes=token.scopes, actor=actor, reason=reason,
                          services=token.services.all(), environments=token.environments.all(),
                          expires_at=now + lifetime)
    token.rotated_to = issued.token
    if grace < token.expires_at - now:  # (a grace past the expiry changes nothing, and now + grace may overflow)
        token.expires_at = now + grace
    token.stamp(actor=actor, reason=require_reason(reason))
    token.save(update_fields=["rotated_to", "expires_at"])
    return issued


@transaction.atomic
def revoke_token(*, token: ApiToken, actor: Any, reason: str) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token  # revoking twice is a no-op: safe to retry
    token.revoked_at = timezone.now()
    token.stamp(actor=actor, reason=require_reason(reason))
    token.save(update_fields=["revoked_at"])
    return token


def authenticate_secret(secret: str) -> ApiToken | None:
    """The active token for a presented secret, or None. Constant-time digest comparison."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    prefix = secret[len(TOKEN_PREFIX):].split("_", 1)[0]
    token = (ApiToken.objects.select_related("owner").prefetch_related("services", "environments")
             .filter(prefix=prefix).first())
    if token is None or not hmac.compare_digest(token.digest, digest_secret(secret)):
        return None
    if not token.is_active() or not token.owner.is_active:
        return None
    return token


def touch_token(token: ApiToken) -> None:
    """Record last use at most once a minute (telemetry: deliberately outside the audit trail)."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    with history_recorded_by_caller():
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


# --- heartbeats ------------------------------------------------------------------------------------

def record_heartbeat(name: str) -> Heartbeat:
    beat, _ = Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})
    return beat


# Audit exports and checkpoints: governance/audit_exports.py


def delete_idempotency_records(*, older_than: timedelta) -> int:
    from governance.models import IdempotencyRecord

    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


def require_second_person(*, author: Any, actor: Any, what: str) -> None:
    """Four eyes (flag change requests and scheduled changes, backfill starts): ValidationError unless `actor` may
    be the second person on `what`, asked for by `author` (the rule: `governance.queries.second_person_refusal`)."""
    from governance.queries import second_person_refusal

    why_not = second_person_refusal(actor, authors=[author])
    if why_not:
        raise ValidationError(f"{actor.get_username()} cannot approve it ({what}): {why_not}.")
