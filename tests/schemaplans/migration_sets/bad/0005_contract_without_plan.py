from django.db import migrations


class Migration(migrations.Migration):
    emc_phase = "contract"
    dependencies = [("lintapp", "0004_drop_undeclared")]
    operations = [migrations.RemoveField("item", "total")]
