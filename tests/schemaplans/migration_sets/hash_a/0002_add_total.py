from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintapp", "0001_initial")]
    operations = [migrations.AddField("item", "total", models.BigIntegerField(null=True))]
