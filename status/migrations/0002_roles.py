from django.db import migrations

from governance.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [("status", "0001_initial"), ("governance", "0004_audit_checkpoints")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
