from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Access reviews and secrets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from access import evidence
        from governance import hooks
        from governance.schedules import SCHEDULES

        entries = [
            {"name": "access: nightly database access reviews", "func": "access.tasks.review_all",
             "schedule_type": "C", "cron": "15 4 * * *"},
            {"name": "access: overdue secrets", "func": "access.tasks.check_overdue_secrets",
             "schedule_type": "C", "cron": "0 7 * * *"},
        ]
        known = {entry["name"] for entry in SCHEDULES}
        SCHEDULES.extend(entry for entry in entries if entry["name"] not in known)
        hooks.EVIDENCE_SECTIONS["access-reviews"] = evidence.access_reviews
        hooks.EVIDENCE_SECTIONS["secrets-inventory"] = evidence.secrets_inventory
