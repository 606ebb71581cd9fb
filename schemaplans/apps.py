from django.apps import AppConfig


class SchemaplansConfig(AppConfig):
    name = "schemaplans"
    verbose_name = "Schema plans and backfills"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import hooks, schedules
        from schemaplans.gate import NAME, schema_plans_gate

        hooks.GATE_INPUTS[NAME] = schema_plans_gate
        names = {entry["name"] for entry in schedules.SCHEDULES}
        for entry in (
            {"name": "schemaplans: verify plans", "func": "schemaplans.tasks.verify_plans", "schedule_type": "H"},
            {"name": "schemaplans: resume backfills", "func": "schemaplans.tasks.resume_backfills",
             "schedule_type": "I", "minutes": 1},
        ):
            if entry["name"] not in names:
                schedules.SCHEDULES.append(entry)
