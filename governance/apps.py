from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import audit  # noqa: F401  (connects the audit-event recorder)
        from governance.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
