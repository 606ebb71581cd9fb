from typing import Any

from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import hooks, schedules
        from releases import evidence_pack, gates

        hooks.EVIDENCE_SECTIONS["releases"] = evidence_pack.section

        for name, fn in gates.BUILT_IN.items():
            hooks.GATE_INPUTS.setdefault(name, fn)
        entries: list[dict[str, Any]] = [
            {"name": "releases: alert on stuck promotions", "func": "releases.tasks.alert_stuck_promotions",
             "schedule_type": "I", "minutes": 5},
            # Hourly against a 14-day horizon: a few missed runs never leave a recurring freeze without windows.
            {"name": "releases: materialise recurring freezes",
             "func": "releases.tasks.materialise_recurring_freezes", "schedule_type": "H"},
        ]
        known = {s["name"] for s in schedules.SCHEDULES}
        schedules.SCHEDULES.extend(entry for entry in entries if entry["name"] not in known)
