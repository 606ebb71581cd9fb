from django.apps import AppConfig


class ChaosConfig(AppConfig):
    name = "chaos"
    verbose_name = "Chaos drills"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chaos import delivery, evidence, services
        from governance import hooks
        from governance.schedules import SCHEDULES

        if delivery.snapshot_members not in hooks.SNAPSHOT_MEMBERS:
            hooks.SNAPSHOT_MEMBERS.append(delivery.snapshot_members)
        hooks.BREAK_GLASS_ACTIONS[services.BREAK_GLASS_HALT] = services.replay_break_glass_halt
        hooks.EVIDENCE_SECTIONS["chaos-runs"] = evidence.section
        entries = [
            # Orphaned faults (a run whose worker died) go within a minute; expired faults are never served anyway.
            {"name": "chaos: watchdog", "func": "chaos.tasks.watchdog", "schedule_type": "I", "minutes": 1},
            {"name": "chaos: scheduled drills", "func": "chaos.tasks.start_scheduled_drills",
             "schedule_type": "I", "minutes": 1},
        ]
        known = {entry["name"] for entry in SCHEDULES}
        SCHEDULES.extend(entry for entry in entries if entry["name"] not in known)
