from django.db import migrations


class Migration(migrations.Migration):
    emc_phase = "expand"
    dependencies = [("lintapp", "0005_contract_without_plan")]
    operations = [migrations.DeleteModel("item")]
