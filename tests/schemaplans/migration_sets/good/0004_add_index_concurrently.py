from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("lintapp", "0003_backfill_total")]
    operations = [AddIndexConcurrently("item", models.Index(fields=["total"], name="lintapp_item_total_idx"))]
