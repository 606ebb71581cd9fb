from django.apps import AppConfig
from django.conf import settings

HOURLY_SCHEDULE = "observability: SLO check (alerting)"
NIGHTLY_SCHEDULE = "observability: SLO check (nightly full run)"
STALENESS_SCHEDULE = "observability: SLO check staleness"


class ObservabilityConfig(AppConfig):
    name = "observability"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import hooks
        from governance.schedules import SCHEDULES
        from observability import evidence_pack, gates, queries, services

        if services.on_service_created not in hooks.SERVICE_CREATED:
            hooks.SERVICE_CREATED.append(services.on_service_created)
        hooks.GATE_INPUTS[gates.NAME] = gates.error_budget_gate
        hooks.EVIDENCE_SECTIONS["slo"] = evidence_pack.section
        if services.on_deployment_recorded not in hooks.DEPLOYMENT_RECORDED:
            hooks.DEPLOYMENT_RECORDED.append(services.on_deployment_recorded)
        if queries.deploy_summary_section not in hooks.SUMMARY_SECTIONS:
            hooks.SUMMARY_SECTIONS.append(queries.deploy_summary_section)

        names = {entry["name"] for entry in SCHEDULES}
        for entry in [
            {"name": HOURLY_SCHEDULE, "func": "observability.tasks.check_slos_hourly", "schedule_type": "I",
             "minutes": settings.SLO_CHECK_INTERVAL_MINUTES},
            {"name": NIGHTLY_SCHEDULE, "func": "observability.tasks.check_slos_nightly", "schedule_type": "C",
             "cron": settings.SLO_CHECK_NIGHTLY_CRON},
            {"name": STALENESS_SCHEDULE, "func": "observability.tasks.check_slo_schedule_staleness",
             "schedule_type": "I", "minutes": 15},
        ]:
            if entry["name"] not in names:
                SCHEDULES.append(entry)
