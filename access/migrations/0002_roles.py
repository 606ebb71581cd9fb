from django.db import migrations

from governance.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial"), ("governance", "0002_roles_environments_cache")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
