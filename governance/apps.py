from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import audit  # noqa: F401  (connects the audit-event recorder)
        from governance.api import schema  # noqa: F401  (registers the OpenAPI auth extension)

        _install_json_safety()
        from django.core import checks

        from governance.notifications import checks as notification_checks

        checks.register(notification_checks.deprecated_settings, "notifications")
        notification_checks.warn_at_start()


def _install_json_safety() -> None:
    """Every form that edits a models.JSONField (every admin's among them, whenever it was registered) uses the
    capped form field, and a stored document too deep to decode loads as a marker instead of raising
    RecursionError (governance.json_safety). Django has no setting for either, hence the two wrappers."""
    from django.db import models

    from governance import json_safety

    field = models.JSONField
    if not hasattr(field.from_db_value, "__wrapped__"):
        field.from_db_value = json_safety.decode_stored(field.from_db_value)  # type: ignore[method-assign]  # see above
    if not hasattr(field.formfield, "__wrapped__"):
        field.formfield = json_safety.capped_formfield(field.formfield)  # type: ignore[method-assign]  # see above
