from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintapp", "0002_left"), ("lintapp", "0002_right")]
    operations: list = []
