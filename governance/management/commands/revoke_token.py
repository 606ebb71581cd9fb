from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance import services
from governance.management.reasons import command_reason
from governance.models import ApiToken


class Command(BaseCommand):
    help = "Revoke a token by prefix, at once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("prefix")
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, prefix: str, reason: str, **o: Any) -> None:
        reason = command_reason(reason, "revoke_token")
        token = ApiToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"no token with prefix {prefix}")
        services.revoke_token(token=token, actor=services.system_user(), reason=reason)
        self.stdout.write(f"token {prefix} revoked")
