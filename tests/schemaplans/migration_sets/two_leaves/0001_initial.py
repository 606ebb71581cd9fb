from django.db import migrations

from tests.schemaplans.migration_sets.initial import OPERATIONS


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations = OPERATIONS
