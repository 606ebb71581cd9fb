from django.apps import AppConfig

SYNC_SCHEDULE = "supplychain: sync the vulnerability database"


class SupplychainConfig(AppConfig):
    name = "supplychain"
    verbose_name = "Supply chain"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from governance import hooks
        from governance.schedules import SCHEDULES
        from supplychain import evidence, gate, services

        hooks.GATE_INPUTS.setdefault(gate.NAME, gate.vulnerabilities)
        if services.validate_artifacts not in hooks.EVIDENCE_VALIDATORS:
            hooks.EVIDENCE_VALIDATORS.append(services.validate_artifacts)
        if services.on_evidence_recorded not in hooks.EVIDENCE_RECORDED:
            hooks.EVIDENCE_RECORDED.append(services.on_evidence_recorded)
        hooks.EVIDENCE_SECTIONS.setdefault("vulnerabilities-and-waivers", evidence.section)
        if SYNC_SCHEDULE not in {entry["name"] for entry in SCHEDULES}:
            SCHEDULES.append({"name": SYNC_SCHEDULE, "func": "supplychain.tasks.sync_vulndb",
                              "schedule_type": "I", "minutes": 60 * settings.VULNDB_SYNC_HOURS})
