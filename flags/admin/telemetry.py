"""SDK instances and break-glass records: telemetry and evidence, read-only."""

from __future__ import annotations

from django.contrib import admin

from flags.models import (
    BreakGlassRecord,
    SdkInstance,
)
from governance.admin import ReadOnlyAdmin


@admin.register(SdkInstance)
class SdkInstanceAdmin(ReadOnlyAdmin):
    """Telemetry the SDKs report (not audited): shown, never added, edited or deleted by hand."""

    list_display = ["instance_id", "service", "environment", "revision", "sdk_version", "last_seen"]
    list_filter = ["service", "environment"]


@admin.register(BreakGlassRecord)
class BreakGlassRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "service_slug", "environment_slug", "flag_key", "operator", "reason",
                    "replayed_at"]

