"""The first migration every fixture set starts from: a table with an index, created in one migration."""

from django.db import migrations, models

OPERATIONS = [
    migrations.CreateModel(
        name="Item",
        fields=[
            ("id", models.BigAutoField(primary_key=True, serialize=False)),
            ("name", models.CharField(max_length=50)),
            ("legacy", models.CharField(max_length=50, null=True)),
        ],
        options={"indexes": [models.Index(fields=["name"], name="lintapp_item_name_idx")]},
    ),
]
