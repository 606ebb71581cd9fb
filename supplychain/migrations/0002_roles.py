from django.db import migrations

from governance.roles import sync_roles


class Migration(migrations.Migration):
    # The supplychain column of governance.roles.MATRIX.
    dependencies = [("supplychain", "0001_supplychain")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
