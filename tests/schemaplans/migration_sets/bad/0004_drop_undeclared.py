from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintapp", "0003_add_required_field")]
    operations = [migrations.RemoveField("item", "legacy")]
