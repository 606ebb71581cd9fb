from django.apps import AppConfig


class SchemaplansConfig(AppConfig):
    name = "schemaplans"
    verbose_name = "Schema plans and backfills"
    default_auto_field = "django.db.models.BigAutoField"
