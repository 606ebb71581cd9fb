"""manage.py access_review [--target NAME …] --reason "…": review databases' access now (docs/SECURITY.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from access import services
from access.models import AccessPolicy
from governance.management.reasons import command_reason
from governance.services import system_user


class Command(BaseCommand):
    help = "Snapshot governed databases' roles, grants and RLS and compare them with their access policies."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--target", action="append", default=[], help="Backup target name (repeatable; "
                            "default: every target with an enabled policy).")
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, target: list[str], reason: str, **options: Any) -> None:
        reason = command_reason(reason, "access_review")
        policies = AccessPolicy.objects.select_related("target")
        policies = policies.filter(target__name__in=target) if target else policies.filter(enabled=True)
        found = list(policies)
        missing = sorted(set(target) - {p.target.name for p in found})
        if missing:
            raise CommandError(f"No access policy for target(s): {', '.join(missing)}")
        worst = 0
        for policy in found:
            snapshot = services.review_access(target=policy.target, actor=system_user(), reason=reason)
            self.stdout.write(f"{policy.target.name}: {snapshot.status} ({len(snapshot.drift)} finding(s), "
                              f"{len(snapshot.changes)} change(s) since the previous review) #{snapshot.pk}")
            for item in snapshot.drift:
                self.stdout.write(f"  {item['code']}: {item['message']}")
            if snapshot.error:
                self.stdout.write(f"  error: {snapshot.error}")
            worst = max(worst, {"clean": 0, "drift": 1, "failed": 2}[snapshot.status])
        if worst:
            raise SystemExit(worst)
