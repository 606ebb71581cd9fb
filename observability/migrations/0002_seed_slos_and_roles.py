"""Default SLOs for services that existed before this app, and the roles' permissions on the new models.

New services get theirs from the SERVICE_CREATED hook (audited). Rows written here use historical
models, which carry no simple-history hooks: like the seeded environments, they start without a
history record (their first audited change will have one).
"""

from datetime import timedelta

from django.db import migrations

from governance.roles import sync_roles
from observability.slo_math import default_slos


def seed_default_slos(apps, schema_editor):
    Service = apps.get_model("governance", "Service")
    Environment = apps.get_model("governance", "Environment")
    Slo = apps.get_model("observability", "Slo")
    environments = list(Environment.objects.all())
    for service in Service.objects.all():
        for environment in environments:
            for d in default_slos(environment.slug, service=service.slug):
                Slo.objects.get_or_create(
                    service=service, environment=environment, name=d.name,
                    defaults={
                        "display_name": d.display_name, "description": d.description, "sli_type": d.sli_type.value,
                        "objective": d.objective, "window_minutes": d.window // timedelta(minutes=1),
                        "min_events": d.min_events, "threshold_ms": d.threshold_ms,
                        "slice_error_threshold": d.slice_error_threshold,
                    },
                )


class Migration(migrations.Migration):
    dependencies = [("observability", "0001_initial"), ("governance", "0002_roles_environments_cache")]

    operations = [
        migrations.RunPython(seed_default_slos, migrations.RunPython.noop),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
