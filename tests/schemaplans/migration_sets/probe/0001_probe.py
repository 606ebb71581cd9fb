from django.db import migrations

SEEN: list[str] = []


def record_lock_timeout(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        SEEN.append(cursor.fetchone()[0])


class Migration(migrations.Migration):
    dependencies: list = []
    operations = [migrations.RunPython(record_lock_timeout, migrations.RunPython.noop)]
