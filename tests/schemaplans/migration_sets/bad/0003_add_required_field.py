from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintapp", "0002_index_existing_table")]
    operations = [migrations.AddField("item", "total", models.BigIntegerField(default=0), preserve_default=False)]
