from typing import Any

from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "flags"
    verbose_name = "Flags and kill switches"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from flags import maintenance_windows, services
        from flags.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from flags.services.common import snapshot_members_changed
        from governance import hooks, schedules

        if snapshot_members_changed not in hooks.SNAPSHOT_CHANGED:
            hooks.SNAPSHOT_CHANGED.append(snapshot_members_changed)
        hooks.MAINTENANCE_MODE.setdefault("available", maintenance_windows.available)
        hooks.MAINTENANCE_MODE.setdefault("engage", maintenance_windows.engage)
        hooks.MAINTENANCE_MODE.setdefault("release", maintenance_windows.release)
        hooks.MAINTENANCE_MODE.setdefault("describe", maintenance_windows.describe)
        hooks.MAINTENANCE_MODE.setdefault("extend", maintenance_windows.extend)
        hooks.MAINTENANCE_MODE.setdefault("max_duration", maintenance_windows.max_duration)
        if services.on_service_created not in hooks.SERVICE_CREATED:
            hooks.SERVICE_CREATED.append(services.on_service_created)
        names = {s["name"] for s in schedules.SCHEDULES}
        entries: list[dict[str, Any]] = [
            {"name": "flags: revert expired emergency toggles", "func": "flags.tasks.revert_expired",
             "schedule_type": "I", "minutes": 1},
            {"name": "flags: apply scheduled changes", "func": "flags.tasks.apply_scheduled_changes",
             "schedule_type": "I", "minutes": 1},
            {"name": "flags: replay break-glass overrides", "func": "flags.tasks.replay_break_glass",
             "schedule_type": "I", "minutes": 1},
            {"name": "flags: purge silent SDK instances", "func": "flags.tasks.purge_sdk_instances",
             "schedule_type": "D"},
        ]
        for entry in entries:
            if entry["name"] not in names:
                schedules.SCHEDULES.append(entry)
