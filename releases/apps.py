from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import hooks, schedules
        from releases import gates

        for name, fn in gates.BUILT_IN.items():
            hooks.GATE_INPUTS.setdefault(name, fn)
        if not any(s["name"] == "releases: alert on stuck promotions" for s in schedules.SCHEDULES):
            schedules.SCHEDULES.append({"name": "releases: alert on stuck promotions",
                                        "func": "releases.tasks.alert_stuck_promotions", "schedule_type": "I",
                                        "minutes": 5})
