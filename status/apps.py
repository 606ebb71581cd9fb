from django.apps import AppConfig

REMINDER_SCHEDULE = "status: remind commanders of overdue incident updates"
UPTIME_SCHEDULE = "status: roll up yesterday's uptime (bars past the SLI retention)"
MAINTENANCE_SCHEDULE = "status: start and complete maintenances that transition automatically"


class StatusConfig(AppConfig):
    name = "status"
    verbose_name = "Status page"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import hooks
        from governance.schedules import SCHEDULES
        from status import services, uptime

        if services.on_maintenance_changed not in hooks.MAINTENANCE_CHANGED:
            hooks.MAINTENANCE_CHANGED.append(services.on_maintenance_changed)
        if uptime.declared_maintenance not in hooks.MAINTENANCE_WINDOWS:
            hooks.MAINTENANCE_WINDOWS.append(uptime.declared_maintenance)
        if services.on_drill_faults not in hooks.DRILL_FAULTS:
            hooks.DRILL_FAULTS.append(services.on_drill_faults)
        if services.on_alert_opened not in hooks.ALERT_OPENED:
            hooks.ALERT_OPENED.append(services.on_alert_opened)
        if UPTIME_SCHEDULE not in {entry["name"] for entry in SCHEDULES}:
            SCHEDULES.append({"name": UPTIME_SCHEDULE, "func": "status.tasks.roll_up_uptime", "schedule_type": "C",
                              "cron": "20 0 * * *"})
        if MAINTENANCE_SCHEDULE not in {entry["name"] for entry in SCHEDULES}:
            SCHEDULES.append({"name": MAINTENANCE_SCHEDULE, "func": "status.tasks.advance_maintenance",
                              "schedule_type": "I", "minutes": 1})
        if REMINDER_SCHEDULE not in {entry["name"] for entry in SCHEDULES}:
            SCHEDULES.append({"name": REMINDER_SCHEDULE, "func": "status.tasks.remind_overdue_incidents",
                              "schedule_type": "I", "minutes": 1})
