from django.db import migrations

from governance.roles import sync_roles


class Migration(migrations.Migration):
    """Uptime days are records: every role may view them (governance.roles)."""

    dependencies = [("status", "0007_uptime_days")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
