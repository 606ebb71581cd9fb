from django.db import migrations

from governance.roles import sync_roles


class Migration(migrations.Migration):
    """Webhook subscribers are set up by Administrators only (governance.roles.EXCLUDE)."""

    dependencies = [("status", "0005_webhook_subscribers")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
