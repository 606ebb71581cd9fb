"""Fixtures: a throwaway app (`lintapp`) whose migrations come from tests/schemaplans/migration_sets/<set>."""

from __future__ import annotations

from collections.abc import Callable

import pytest

LINTAPP = "tests.schemaplans.lintapp"


@pytest.fixture
def lintapp(settings) -> Callable[[str], None]:
    """Install `lintapp` with a migration set of tests/schemaplans/migration_sets, or `module=` any package."""

    def use(migration_set: str = "", *, module: str = "") -> None:
        if LINTAPP not in settings.INSTALLED_APPS:
            settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, LINTAPP]
        settings.MIGRATION_MODULES = {"lintapp": module or f"tests.schemaplans.migration_sets.{migration_set}"}

    return use
