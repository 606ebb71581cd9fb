from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import audit  # noqa: F401  (connects the audit-event recorder)
        from governance.api import schema  # noqa: F401  (registers the OpenAPI auth extension)

        _install_json_safety()


def _install_json_safety() -> None:
    """Every admin form edits a models.JSONField through the capped form field, and a stored document too deep to
    decode loads as a marker instead of a RecursionError (governance.json_safety)."""
    from django.contrib.admin import options
    from django.db import models

    from governance import json_safety

    options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.JSONField] = {"form_class": json_safety.JSONFormField}
    if not hasattr(models.JSONField.from_db_value, "__wrapped__"):
        models.JSONField.from_db_value = json_safety.decode_stored(models.JSONField.from_db_value)  # type: ignore[method-assign]  # the one hook Django offers no setting for
