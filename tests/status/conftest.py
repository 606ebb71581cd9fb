"""Fixtures of the status app: components of the `service` fixture, the real webhook receiver, releases."""

from __future__ import annotations

import pytest

from status import services
from status.models import Component
from tests.observability.conftest import webhook_receiver, write_points  # noqa: F401  (shared fixtures)
from tests.releases.conftest import register, release  # noqa: F401  (releases to promote during a maintenance)


@pytest.fixture
def api_component(service, system_user) -> Component:
    return services.save_component(component=Component(service=service, name="API", position=1),
                                   actor=system_user, reason="fixture")


@pytest.fixture
def web_component(service, system_user) -> Component:
    return services.save_component(component=Component(service=service, name="Web", position=2),
                                   actor=system_user, reason="fixture")
