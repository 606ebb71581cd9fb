from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = "Disaster recovery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import hooks
        from governance.schedules import SCHEDULES
        from recovery import evidence_pack

        hooks.EVIDENCE_SECTIONS["recovery"] = evidence_pack.section
        from recovery import queries

        if queries.timeline_drills not in hooks.TIMELINE_EVENTS:
            hooks.TIMELINE_EVENTS.append(queries.timeline_drills)

        # Cron schedules (croniter): the first run is the next matching slot, never "now" at deploy time.
        entries = [
            {"name": "recovery: nightly backups", "func": "recovery.tasks.nightly_backups",
             "schedule_type": "C", "cron": "0 2 * * *"},
            {"name": "recovery: monthly restore drills", "func": "recovery.tasks.monthly_restore_drills",
             "schedule_type": "C", "cron": "0 3 1 * *"},
            {"name": "recovery: drills missed their schedule", "func": "recovery.tasks.check_missed_drills",
             "schedule_type": "C", "cron": "30 6 * * *"},
        ]
        known = {entry["name"] for entry in SCHEDULES}
        SCHEDULES.extend(entry for entry in entries if entry["name"] not in known)
