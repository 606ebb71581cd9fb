from django.db import migrations

from governance.roles import sync_roles

# The built-in operational flags as they were when this migration was written (the services module
# may change later; migrations must not).
BUILTIN = [
    ("maintenance_mode", "kill_switch", "boolean", False, None, None, None, None,
     "Maintenance mode: 503 for everyone but staff and health checks."),
    ("kill_switch_api", "kill_switch", "boolean", False, None, None, None, None, "Kill switch: the API answers 503."),
    ("kill_switch_database", "kill_switch", "boolean", False, None, None, None, None,
     "Kill switch: database writes are refused (reads keep working)."),
    ("rate_limit_multiplier", "operational", "number", True, 1.0, 0.1, 10.0, 2.0,
     "Scales API rate limits (1 = as configured)."),
]


def seed_portal(apps, schema_editor):
    """The portal governs itself: service "portal" with its operational flags (no history rows, like the
    environment seed; the first change through a service records history)."""
    Service = apps.get_model("governance", "Service")
    Environment = apps.get_model("governance", "Environment")
    Flag = apps.get_model("flags", "Flag")
    FlagState = apps.get_model("flags", "FlagState")
    service, _ = Service.objects.get_or_create(slug="portal", defaults={"name": "Governance portal",
                                                                        "owners": "operations"})
    with schema_editor.connection.cursor() as cursor:
        for key, kind, value_type, enabled, number, low, high, step, description in BUILTIN:
            flag, created = Flag.objects.get_or_create(
                service=service, key=key,
                defaults={"kind": kind, "value_type": value_type, "description": description, "owner": "operations",
                          "expected_lifetime_days": None, "min_value": low, "max_value": high, "max_step": step,
                          "is_builtin": True},
            )
            for environment in Environment.objects.all():
                if FlagState.objects.filter(flag=flag, environment=environment).exists():
                    continue
                cursor.execute("SELECT nextval('flags_revision_seq')")
                FlagState.objects.create(flag=flag, environment=environment, enabled=enabled, number=number,
                                         revision=cursor.fetchone()[0])


class Migration(migrations.Migration):
    dependencies = [("flags", "0001_initial"), ("governance", "0002_roles_environments_cache")]

    operations = [
        migrations.RunSQL("CREATE SEQUENCE IF NOT EXISTS flags_revision_seq",
                          "DROP SEQUENCE IF EXISTS flags_revision_seq"),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
        migrations.RunPython(seed_portal, migrations.RunPython.noop),
    ]
