from django.core.management import call_command
from django.db import migrations

from governance.migrations._seed import seed_environments
from governance.roles import sync_roles


def create_cache_table(apps, schema_editor):
    # The database cache backs throttles and idempotency when REDIS_URL is unset.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(create_cache_table, migrations.RunPython.noop),
        migrations.RunPython(seed_environments, migrations.RunPython.noop),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
