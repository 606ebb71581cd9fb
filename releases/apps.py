from typing import Any

from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from governance import hooks, schedules
        from releases import branch_protection, evidence_github, evidence_pack, gates
        from releases.services import freezes

        hooks.EVIDENCE_SECTIONS["releases"] = evidence_pack.section
        if freezes.sync_maintenance_freeze not in hooks.MAINTENANCE_FREEZE:
            hooks.MAINTENANCE_FREEZE.append(freezes.sync_maintenance_freeze)
        if freezes.maintenance_freezes not in hooks.MAINTENANCE_FREEZES:
            hooks.MAINTENANCE_FREEZES.append(freezes.maintenance_freezes)

        for name, fn in gates.BUILT_IN.items():
            hooks.GATE_INPUTS.setdefault(name, fn)
        hooks.GATE_INPUTS.setdefault(branch_protection.NAME, branch_protection.gate_input)
        hooks.EVIDENCE_SECTIONS.setdefault("external-events", evidence_github.section)
        entries: list[dict[str, Any]] = [
            {"name": "releases: alert on stuck promotions", "func": "releases.tasks.alert_stuck_promotions",
             "schedule_type": "I", "minutes": 5},
            # Hourly against a 14-day horizon: a few missed runs never leave a recurring freeze without windows.
            {"name": "releases: materialise recurring freezes",
             "func": "releases.tasks.materialise_recurring_freezes", "schedule_type": "H"},
            # GitHub's audit log into the timeline, and the default branches' protection against the gate policy
            {"name": "releases: import GitHub audit log", "func": "releases.tasks.import_github_audit_log",
             "schedule_type": "I", "minutes": settings.GITHUB_AUDIT_LOG_INTERVAL_MINUTES},
            {"name": "releases: review branch protection", "func": "releases.tasks.review_branch_protection",
             "schedule_type": "H"},
        ]
        known = {s["name"] for s in schedules.SCHEDULES}
        schedules.SCHEDULES.extend(entry for entry in entries if entry["name"] not in known)
