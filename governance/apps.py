from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class GovernanceAdminConfig(admin_apps.AdminConfig):
    """`django.contrib.admin` with `governance.admin_tools.GovernanceAdminSite` as `admin.site`: POSTs atomic."""

    default = False  # named in INSTALLED_APPS; GovernanceConfig stays the governance app's config
    default_site = "governance.admin_tools.GovernanceAdminSite"


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import audit  # noqa: F401  (connects the audit-event recorder)
        from governance.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
