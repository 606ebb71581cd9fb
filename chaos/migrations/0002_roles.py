from django.db import migrations

import governance.roles


class Migration(migrations.Migration):
    dependencies = [
        ("chaos", "0001_initial"),
        ("governance", "0007_access_scopes"),
    ]

    operations = [migrations.RunPython(governance.roles.sync_roles, migrations.RunPython.noop)]
