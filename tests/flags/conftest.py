"""Fixtures for the flag SDK: a local portal stub and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from govctl.sdk import FlagClient

from tests.flags.portal_stub import SECRET, TOKEN, PortalStub


@pytest.fixture
def portal() -> Iterator[PortalStub]:
    stub = PortalStub()
    yield stub
    stub.close()


@pytest.fixture
def make_client(portal: PortalStub, tmp_path: Path) -> Iterator[Callable[..., FlagClient]]:
    clients: list[FlagClient] = []

    def make(**overrides: Any) -> FlagClient:
        settings: dict[str, Any] = {
            "url": portal.url,
            "token": TOKEN,
            "service": "shop",
            "environment": "production",
            "lkg_path": tmp_path / "flags-lkg.json",
            "signing_secret": SECRET,
            "timeout": 0.5,
            "background": False,
        }
        settings.update(overrides)
        client = FlagClient(**settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.stop()


# --- portal-side fixtures (flags app) -------------------------------------------------------------


@pytest.fixture
def development(db):
    from governance.models import Environment

    return Environment.objects.get(slug="development")


@pytest.fixture
def make_flag(service, system_user):
    from flags import services as flag_services

    def make(key: str = "new-checkout", **fields: Any):
        fields.setdefault("owner", "checkout team")
        return flag_services.create_flag(service=fields.pop("service", service), key=key, actor=system_user,
                                         reason="test fixture", **fields)

    return make


@pytest.fixture
def state_of():
    from flags.models import FlagState

    def get(flag, environment: str):
        return FlagState.objects.select_related("flag", "environment").get(flag=flag, environment__slug=environment)

    return get


@pytest.fixture
def reader(make_token) -> str:
    return make_token("flags:read")


@pytest.fixture
def force(system_user):
    """Set a state's fields directly (set-up only: bypasses the exposure rules, still audited)."""
    from django.db import transaction

    from flags import services as flag_services

    def apply(state, fields, **toggle):
        with transaction.atomic():
            return flag_services._apply(flag_services._lock(state), fields, actor=system_user,
                                        reason="test set-up", **toggle)

    return apply
