from django.db import migrations

from governance.roles import sync_roles


class Migration(migrations.Migration):
    # Recurring freezes get the permissions of freeze windows (the releases column of governance.roles.MATRIX).
    dependencies = [("releases", "0003_recurring_freezes")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
