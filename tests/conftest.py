"""Shared fixtures: users per role, tokens, API clients. PostgreSQL only."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from governance import roles, services
from governance.models import Environment, Service

ROOT = Path(__file__).resolve().parent.parent
# govctl's lint cache stays off in tests (a patched engine must never be answered from a cached result);
# tests/govctl/migration_lint/test_lint_cache.py turns it on where it is the subject
os.environ["GOVCTL_CACHE_DIR"] = "off"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Re-seed what data migrations create: a transactional test of an earlier --reuse-db run truncated it."""
    from django.apps import apps

    from governance.migrations import _seed

    with django_db_blocker.unblock():
        for slug, name, is_prod, order, second in _seed.ENVIRONMENTS:
            services.ensure_environment(slug=slug, name=name, is_production=is_prod, order=order,
                                        requires_second_person=second, actor=services.system_user(),
                                        reason="test set-up: re-seed")
        roles.sync_roles(apps)
        if not Service.objects.filter(slug="portal").exists():  # the portal's own flags (flags 0002)
            services.create_service(slug="portal", name="Governance portal", actor=services.system_user(),
                                    reason="test set-up: re-seed")
        # Django serialised the database for serialized_rollback before this re-seed: serialise again, or
        # every transactional test after the first would start without environments.
        from django.db import connection

        serialized = connection.creation.serialize_db_to_string()
        connection._test_serialized_contents = serialized  # type: ignore[attr-defined]  # Django's private test slot


@pytest.fixture
def system_user(db):
    return services.system_user()


@pytest.fixture
def make_user(db) -> Callable[..., object]:
    def make(username: str, role: str | None = None, *, staff: bool = True, superuser: bool = False):
        user = get_user_model().objects.create_user(username=username, password="pw-for-tests-only",
                                                    is_staff=staff, is_superuser=superuser)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def operator(make_user):
    return make_user("olga", roles.OPERATOR)


@pytest.fixture
def release_manager(make_user):
    return make_user("rita", roles.RELEASE_MANAGER)


@pytest.fixture
def auditor(make_user):
    return make_user("audrey", roles.AUDITOR)


@pytest.fixture
def administrator(make_user):
    return make_user("ada", roles.ADMINISTRATOR)


@pytest.fixture
def service(system_user) -> Service:
    return services.create_service(slug="shop", name="Shop", actor=system_user, reason="test fixture")


@pytest.fixture
def other_service(system_user) -> Service:
    return services.create_service(slug="billing", name="Billing", actor=system_user, reason="test fixture")


@pytest.fixture
def production(db) -> Environment:
    return Environment.objects.get(slug="production")


@pytest.fixture
def preview(db) -> Environment:
    return Environment.objects.get(slug="preview")


@pytest.fixture
def ci_user(db):
    """A service account: the owner of tokens that people issue for CI."""
    from governance import services_users

    account = services_users.create_service_account(username="ci-bot", description="CI pipelines",
                                                    actor=services.system_user(), reason="test fixture")
    return account.user


@pytest.fixture
def make_token(system_user, ci_user) -> Callable[..., str]:
    """Issue a token and return its secret: owned by the service account ci-bot (issued by the system user), or
    by `owner`, who then issues it (a token belongs to whoever creates it)."""

    def make(*scopes: str, owner=None, services_=(), environments=(), expires_in=timedelta(days=1), name="ci"):
        issued = services.create_token(
            name=name, owner=owner or ci_user, scopes=scopes or ["flags:read"], services=services_,
            environments=environments, expires_at=timezone.now() + expires_in, actor=owner or system_user,
            reason="test",
        )
        return issued.secret

    return make


@pytest.fixture
def api_callers(make_token, other_service, system_user) -> Callable[[str | None], dict[str, str | None]]:
    """The callers of an authorization matrix (tests/authorization.py) for an endpoint needing `scope`:
    secret per kind of caller, None for anonymous."""
    from governance.audit_base import history_recorded_by_caller
    from governance.models import ApiToken

    def for_scope(scope: str | None) -> dict[str, str | None]:
        scopes = [scope] if scope else ["flags:read"]
        wrong = ["flags:read"] if scope == "sli:write" else ["sli:write"]
        expired, revoked = make_token(*scopes), make_token(*scopes)
        with history_recorded_by_caller():  # expired a second ago, without waiting for it
            ApiToken.objects.filter(prefix=expired.split("_")[1]).update(
                created_at=timezone.now() - timedelta(days=1), expires_at=timezone.now() - timedelta(seconds=1))
        services.revoke_token(token=ApiToken.objects.get(prefix=revoked.split("_")[1]), actor=system_user,
                              reason="test")
        return {
            "anonymous": None,
            "without_scope": make_token(*wrong),
            "with_scope": make_token(*scopes),
            "other_service": make_token(*scopes, services_=[other_service]),
            "expired": expired,
            "revoked": revoked,
        }

    return for_scope


@pytest.fixture
def api() -> Callable[[str | None], APIClient]:
    def client(secret: str | None = None) -> APIClient:
        c = APIClient()
        if secret:
            c.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return c

    return client


@pytest.fixture(autouse=True)
def _flags_isolated(settings, tmp_path_factory):
    """Each test starts with no in-process flag snapshots, no cached tokens and its own LKG directory."""
    from flags import delivery
    from flags.api import auth

    settings.FLAGS_LKG_DIR = tmp_path_factory.mktemp("flags-lkg")
    delivery.reset()
    auth.forget_tokens()
    yield
    delivery.reset()
    auth.forget_tokens()


@pytest.fixture
def git_repo(tmp_path):
    """(repo path, environment) of an empty git repository with a fixed author."""
    from tests.releases.gitrepo import make_repo

    return make_repo(tmp_path)
