from django.db import migrations


def backfill(apps, schema_editor):
    apps.get_model("lintapp", "Item").objects.filter(total__isnull=True).update(total=0)


class Migration(migrations.Migration):
    dependencies = [("lintapp", "0002_add_total")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
