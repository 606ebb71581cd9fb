from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintapp", "0001_initial")]
    operations = [migrations.AddIndex("item", models.Index(fields=["legacy"], name="lintapp_item_legacy_idx"))]
