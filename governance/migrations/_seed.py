"""Seed rows shared by the data migration and the test set-up (which must restore them after truncation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.apps.registry import Apps
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor

ENVIRONMENTS = [
    ("development", "Development", False, 10, False),
    ("preview", "Preview", False, 20, False),
    ("production", "Production", True, 30, True),
]


def seed_environments(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None = None) -> None:
    # Historical models carry no simple-history hooks: these rows start without history records.
    Environment = apps.get_model("governance", "Environment")
    for slug, name, is_prod, order, second in ENVIRONMENTS:
        Environment.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "is_production": is_prod, "order": order, "requires_second_person": second},
        )
