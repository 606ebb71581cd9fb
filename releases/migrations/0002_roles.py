from django.db import migrations

from governance.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [("releases", "0001_releases"), ("governance", "0002_roles_environments_cache")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
