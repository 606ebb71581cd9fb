from django.db import migrations


class Migration(migrations.Migration):
    emc_phase = "contract"
    emc_plan = "items-legacy"
    dependencies = [("lintapp", "0004_add_index_concurrently")]
    operations = [migrations.RemoveField("item", "legacy")]
