from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import hooks
        from governance.schedules import SCHEDULES
        from observability import evidence_pack, gates, queries, schedules, services

        if services.on_service_created not in hooks.SERVICE_CREATED:
            hooks.SERVICE_CREATED.append(services.on_service_created)
        hooks.GATE_INPUTS[gates.NAME] = gates.error_budget_gate
        hooks.EVIDENCE_SECTIONS["slo"] = evidence_pack.section
        if services.on_deployment_recorded not in hooks.DEPLOYMENT_RECORDED:
            hooks.DEPLOYMENT_RECORDED.append(services.on_deployment_recorded)
        if queries.deploy_summary_section not in hooks.SUMMARY_SECTIONS:
            hooks.SUMMARY_SECTIONS.append(queries.deploy_summary_section)
        if queries.timeline_alerts not in hooks.TIMELINE_EVENTS:
            hooks.TIMELINE_EVENTS.append(queries.timeline_alerts)
        if services.channel_specs not in hooks.NOTIFICATION_CHANNELS:
            hooks.NOTIFICATION_CHANNELS.append(services.channel_specs)
        if services.record_deliveries not in hooks.NOTIFICATION_DELIVERED:
            hooks.NOTIFICATION_DELIVERED.append(services.record_deliveries)

        names = {entry["name"] for entry in SCHEDULES}
        SCHEDULES.extend(entry for entry in schedules.entries() if entry["name"] not in names)
