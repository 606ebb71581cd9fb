"""Indexes for the audit timeline's environment and source filters, built CONCURRENTLY: the audit table is large and
written by every change, and a plain CREATE INDEX would hold its SHARE lock (every write waits) for the build."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ('governance', '0004_audit_checkpoints'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='auditevent',
            index=models.Index(fields=['environment', '-at'], name='governance_auditevent_env_at'),
        ),
        AddIndexConcurrently(
            model_name='auditevent',
            index=models.Index(fields=['source', '-at'], name='governance_auditevent_src_at'),
        ),
    ]
