from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance import services
from governance.management.reasons import command_reason
from governance.models import ApiToken


class Command(BaseCommand):
    help = "Rotate a token by prefix: prints the new secret once; the old one stays valid for the grace period."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("prefix")
        parser.add_argument("--grace-hours", type=float, default=None)
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, prefix: str, grace_hours: float | None, reason: str, **o: Any) -> None:
        reason = command_reason(reason, "rotate_token")
        token = ApiToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"no token with prefix {prefix}")
        try:
            grace = timedelta(hours=grace_hours) if grace_hours is not None else None
        except (ValueError, OverflowError):  # nan, inf or beyond what a date can hold
            raise CommandError(f"--grace-hours {grace_hours}: not a usable grace period") from None
        try:
            issued = services.rotate_token(token=token, grace=grace, actor=services.system_user(),
                                           reason=reason)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages))
        token.refresh_from_db()
        self.stderr.write(f"token {prefix} valid until {token.expires_at:%Y-%m-%d %H:%M}Z; new token "
                          f"{issued.token.prefix} (secret shown once):")
        sys.stdout.write(issued.secret + "\n")
