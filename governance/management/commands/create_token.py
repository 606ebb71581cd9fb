from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from governance import services
from governance.management.reasons import command_reason
from governance.models import Environment, Scope, Service


class Command(BaseCommand):
    help = "Create an API token; the secret is printed once to stdout."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner", required=True, help="the service account that owns the token (people create their own in the admin)")
        parser.add_argument("--scope", action="append", required=True, choices=Scope.values, dest="scopes")
        parser.add_argument("--service", action="append", default=[], help="restrict to a service slug (repeat)")
        parser.add_argument("--environment", action="append", default=[], help="restrict to an environment slug")
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, **o: Any) -> None:
        reason = command_reason(o["reason"], "create_token")
        owner = get_user_model().objects.filter(username=o["owner"]).first()
        if owner is None:
            raise CommandError(f"no user '{o['owner']}'")
        svc = list(Service.objects.filter(slug__in=o["service"]))
        envs = list(Environment.objects.filter(slug__in=o["environment"]))
        unknown = set(o["service"]) - {s.slug for s in svc} | set(o["environment"]) - {e.slug for e in envs}
        if unknown:
            raise CommandError(f"unknown service/environment: {', '.join(sorted(unknown))}")
        expires = None
        if o["expires_days"] is not None:  # 0 is refused by the service, not mistaken for "the default"
            try:
                expires = timezone.now() + timedelta(days=o["expires_days"])
            except OverflowError:
                raise CommandError(f"--expires-days {o['expires_days']} is too far in the future") from None
        try:
            issued = services.create_token(
                name=o["name"], owner=owner, scopes=o["scopes"], services=svc, environments=envs, expires_at=expires,
                actor=services.system_user(), reason=reason,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages))
        self.stderr.write(f"token {issued.token.prefix} '{issued.token.name}' expires {issued.token.expires_at:%Y-%m-%d}; "
                          "the secret below is shown once:")
        sys.stdout.write(issued.secret + "\n")
