from django.db import migrations

from governance.roles import sync_roles


class Migration(migrations.Migration):
    # The GitHub audit-log and branch-protection rows are view-only for every role (governance.roles.EXCLUDE).
    dependencies = [("releases", "0006_github_audit")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
