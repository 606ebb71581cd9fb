from django.core.management import call_command
from django.db import migrations

from governance.roles import sync_roles


def create_cache_table(apps, schema_editor):
    # The database cache backs throttles and idempotency when REDIS_URL is unset.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def seed_environments(apps, schema_editor):
    # Historical models carry no simple-history hooks: the seed rows get their history from seed_demo.
    Environment = apps.get_model("governance", "Environment")
    for slug, name, is_prod, order, second in [
        ("development", "Development", False, 10, False),
        ("preview", "Preview", False, 20, False),
        ("production", "Production", True, 30, True),
    ]:
        Environment.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "is_production": is_prod, "order": order, "requires_second_person": second},
        )


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(create_cache_table, migrations.RunPython.noop),
        migrations.RunPython(seed_environments, migrations.RunPython.noop),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
