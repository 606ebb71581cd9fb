"""Who may do what: every change to users, groups, memberships and service accounts, audited.

Django's User and Group are not simple-history models, and registering them would put a history record
(and so a required reason) on every login's `last_login` update. These services write the AuditEvent
themselves instead, in the same transaction, with a before/after diff that includes group membership and
individual permissions, and never the password hash.

The grant rule lives here, once (`check_authority`): only superusers grant superuser, individual permissions
or a group's permissions, and only superusers touch a superuser's account; others with the user permissions
(Administrators) assign roles (groups) and edit identity, staff and active flags. The admin narrows its forms
to match, but this is what holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from governance.models import AuditEvent, ServiceAccount
from governance.services import require_reason

User = get_user_model()
IDENTITY_FIELDS = ("username", "first_name", "last_name", "email")
FLAG_FIELDS = ("is_active", "is_staff", "is_superuser")
SUPERUSER_ONLY = frozenset({"is_superuser", "user_permissions"})
PASSWORD_NOTE = "(changed; the secret is not recorded)"  # noqa: S105 - what the audit shows instead


class NotAllowed(ValidationError):
    """The actor may not make this change to who-may-do-what."""


def is_service_account(user: Any) -> bool:
    """Whether `user` is a non-human account (it owns tokens and never approves)."""
    if user is None or getattr(user, "pk", None) is None:
        return False
    return ServiceAccount.objects.filter(user_id=user.pk).exists()


def user_state(user: Any) -> dict[str, Any]:
    """The audited picture of an account: identity, flags, roles and individual permissions (no password)."""
    state: dict[str, Any] = {f: getattr(user, f) for f in (*IDENTITY_FIELDS, *FLAG_FIELDS)}
    if user.pk is None:
        return {**state, "groups": [], "user_permissions": []}
    state["groups"] = sorted(user.groups.values_list("name", flat=True))
    state["user_permissions"] = _perm_labels(user.user_permissions.all())
    return state


def group_state(group: Group) -> dict[str, Any]:
    if group.pk is None:
        return {"name": group.name, "permissions": []}
    return {"name": group.name, "permissions": _perm_labels(group.permissions.all())}


def _perm_labels(perms: Iterable[Permission]) -> list[str]:
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in
                  Permission.objects.filter(pk__in=[p.pk for p in perms]).select_related("content_type"))


def is_root(actor: Any) -> bool:
    """An active superuser, or the system user (commands: whoever runs them has the server already)."""
    if getattr(actor, "username", None) == settings.SYSTEM_USERNAME:
        return True
    return bool(getattr(actor, "is_superuser", False) and actor.is_active)


def check_authority(*, actor: Any, target_before: dict[str, Any] | None, changes: dict[str, Any]) -> None:
    """Refuse a user change the actor may not make (the one home of the grant rule for accounts)."""
    if is_root(actor):
        return
    if not actor.has_perm("auth.change_user" if target_before is not None else "auth.add_user"):
        raise NotAllowed(f"{actor.get_username()} may not manage accounts.")
    if target_before is not None and target_before.get("is_superuser"):
        raise NotAllowed("Only a superuser may change a superuser's account.")
    for field in sorted(SUPERUSER_ONLY & changes.keys()):
        old = (target_before or {}).get(field, [] if field == "user_permissions" else False)
        if changes[field] != old:
            what = "superuser status" if field == "is_superuser" else "individual permissions"
            raise NotAllowed(f"Only a superuser may grant or remove {what}; assign a role (group) instead.")


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    keys = list((after or before or {}).keys())
    rows = []
    for key in keys:
        old = None if before is None else before.get(key)
        new = None if after is None else after.get(key)
        if old != new:
            rows.append({"field": key, "old": old, "new": new})
    return rows


def _record(*, actor: Any, reason: str, obj: Any, change: str, changes: list[dict[str, Any]]) -> AuditEvent:
    return AuditEvent.objects.create(
        at=timezone.now(), actor=actor, actor_name=actor.get_username() if actor is not None else "",
        model=obj._meta.label_lower, object_id=str(obj.pk), object_repr=str(obj)[:300], change=change,
        reason=reason, service=None, changes=changes, history_id=None,
    )


def _apply_user(user: Any, changes: dict[str, Any]) -> None:
    fields = [f for f in (*IDENTITY_FIELDS, *FLAG_FIELDS) if f in changes]
    for field in fields:
        setattr(user, field, changes[field])
    user.full_clean(exclude=["password", "last_login", "date_joined", "groups", "user_permissions"],
                    validate_unique=True)
    user.save()
    if "groups" in changes:
        user.groups.set(Group.objects.filter(name__in=changes["groups"]))
    if "user_permissions" in changes:
        user.user_permissions.set(_permissions(changes["user_permissions"]))


def _permissions(labels: Iterable[str]) -> list[Permission]:
    perms = []
    for label in labels:
        app_label, _, codename = label.partition(".")
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm is None:
            raise ValidationError({"user_permissions": f"Unknown permission {label!r}."})
        perms.append(perm)
    return perms


def _normalise(changes: dict[str, Any]) -> dict[str, Any]:
    allowed = {*IDENTITY_FIELDS, *FLAG_FIELDS, "groups", "user_permissions"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"Unknown account field(s): {', '.join(sorted(unknown))}.")
    out = dict(changes)
    if "groups" in out:
        out["groups"] = sorted({g.name if isinstance(g, Group) else str(g) for g in out["groups"]})
        missing = set(out["groups"]) - set(Group.objects.filter(name__in=out["groups"]).values_list("name", flat=True))
        if missing:
            raise ValidationError({"groups": f"Unknown role(s): {', '.join(sorted(missing))}."})
    if "user_permissions" in out:
        out["user_permissions"] = sorted(
            {f"{p.content_type.app_label}.{p.codename}" if isinstance(p, Permission) else str(p)
             for p in out["user_permissions"]})
    return out


@transaction.atomic
def create_user(*, username: str, actor: Any, reason: str, password: str | None = None,
                **changes: Any) -> Any:
    """Create an account (roles in `groups`); `password` None leaves it unusable (log-in by reset only)."""
    reason = require_reason(reason)
    changes = _normalise({"username": username, **changes})
    check_authority(actor=actor, target_before=None, changes=changes)
    user = User(username=username)
    if password is not None:
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    _apply_user(user, changes)
    after = user_state(user)
    _record(actor=actor, reason=reason, obj=user, change=AuditEvent.Change.CREATED,
            changes=_diff(None, after) + ([{"field": "password", "old": None, "new": PASSWORD_NOTE}]
                                         if password is not None else []))
    return user


@transaction.atomic
def update_user(*, user: Any, actor: Any, reason: str, **changes: Any) -> AbstractBaseUser:
    """Change an account's identity, flags, roles or (superusers only) individual permissions."""
    reason = require_reason(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    before = user_state(user)
    changes = _normalise(changes)
    check_authority(actor=actor, target_before=before, changes=changes)
    _apply_user(user, changes)
    after = user_state(user)
    diff = _diff(before, after)
    if diff:
        _record(actor=actor, reason=reason, obj=user, change=AuditEvent.Change.CHANGED, changes=diff)
    return user


@transaction.atomic
def set_password(*, user: Any, password: str | None, actor: Any, reason: str) -> AbstractBaseUser:
    """Set (or, with None, disable) an account's password; the audit says it changed, never what to."""
    reason = require_reason(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    if actor.pk != user.pk and not is_root(actor):
        # Whoever knows another person's password can act, and approve, under their name.
        raise NotAllowed("Only a superuser may set another person's password; ask them to change it themselves.")
    if password is None:
        user.set_unusable_password()
    else:
        validate_password(password, user)
        user.set_password(password)
    user.save(update_fields=["password"])
    _record(actor=actor, reason=reason, obj=user, change=AuditEvent.Change.CHANGED,
            changes=[{"field": "password", "old": None, "new": PASSWORD_NOTE if password else "(disabled)"}])
    return user


def _check_group_authority(actor: Any) -> None:
    if not is_root(actor):
        raise NotAllowed("Only a superuser may create roles or change their permissions (governance/roles.py "
                         "is the matrix).")


@transaction.atomic
def save_group(*, group: Group | None, name: str, permissions: Iterable[Any], actor: Any, reason: str) -> Group:
    """Create or change a role (group): its name and permissions. Superusers only."""
    reason = require_reason(reason)
    _check_group_authority(actor)
    if group is not None and group.pk is not None:
        group = Group.objects.select_for_update().get(pk=group.pk)
        before: dict[str, Any] | None = group_state(group)
    else:
        group, before = Group(), None
    group.name = name
    group.full_clean(exclude=["permissions"])
    group.save()
    labels = _normalise({"user_permissions": permissions})["user_permissions"]
    group.permissions.set(_permissions(labels))
    diff = _diff(before, group_state(group))
    if diff or before is None:
        _record(actor=actor, reason=reason, obj=group,
                change=AuditEvent.Change.CREATED if before is None else AuditEvent.Change.CHANGED, changes=diff)
    return group


@transaction.atomic
def create_service_account(*, username: str, description: str, actor: Any, reason: str) -> ServiceAccount:
    """A non-human account: no password, no admin log-in, no roles; it owns tokens and never approves."""
    reason = require_reason(reason)
    user = create_user(username=username, actor=actor, reason=reason, password=None, is_staff=False,
                       first_name="Service account")
    account = ServiceAccount(user=user, description=description)
    account.stamp(actor=actor, reason=reason)
    account.full_clean()
    account.save()
    return account
