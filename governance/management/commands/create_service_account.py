"""Create a service account: a non-human user that owns API tokens (CI, a governed service) and never approves."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance import services, services_users
from governance.management.reasons import command_reason


class Command(BaseCommand):
    help = ("Create a service account (no password, no admin log-in, never an approver) to own API tokens "
            "made with create_token; an existing service account of that name is left as it is.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--description", required=True, help="what uses it (a pipeline, a governed service)")
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, **o: Any) -> None:
        reason = command_reason(o["reason"], "create_service_account")
        existing = get_user_model().objects.filter(username=o["username"]).first()
        if existing is not None:
            if services_users.is_service_account(existing):
                self.stdout.write(f"service account {existing.get_username()} exists")
                return
            raise CommandError(f"'{o['username']}' is a person's account, not a service account")
        try:
            account = services_users.create_service_account(username=o["username"], description=o["description"],
                                                            actor=services.system_user(), reason=reason)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"service account {account.user.get_username()} created")
