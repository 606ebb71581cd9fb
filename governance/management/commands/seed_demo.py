"""Idempotent demo data: environments, roles, a demo service, an admin and two users per role (passwords printed
once), and rows for every screen (governance.demo)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from governance import demo, roles, services, services_users
from governance.migrations._seed import ENVIRONMENTS
from governance.models import Service

DEMO_SERVICE_ACCOUNT = "ci-bot"


class Command(BaseCommand):
    help = "Load demo data (safe to run again): environments, roles, the 'shop' service and an admin user."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--admin-username", default="admin")
        parser.add_argument("--service", default="shop")
        parser.add_argument("--minimal", action="store_true",
                            help="Only environments, roles, the service and the admin (no demo users or rows).")

    @transaction.atomic
    def handle(self, *args: Any, admin_username: str, service: str, minimal: bool = False, **options: Any) -> None:
        actor = services.system_user()
        reason = "seed_demo"
        for slug, name, is_prod, order, second in ENVIRONMENTS:
            services.ensure_environment(slug=slug, name=name, is_production=is_prod, order=order,
                                        requires_second_person=second, actor=actor, reason=reason)
        missing = [r for r in roles.ROLES if not Group.objects.filter(name=r).exists()]
        if missing:
            self.stderr.write(f"roles missing ({', '.join(missing)}): run `manage.py migrate` first")
        if not Service.objects.filter(slug=service).exists():
            try:
                services.create_service(slug=service, name=f"{service.capitalize()} (demo)", owners="demo team",
                                        actor=actor, reason=reason)
            except ValidationError as exc:  # the whole command is atomic: the environments roll back too
                raise CommandError(f"--service {service!r}: {'; '.join(exc.messages)} (a slug, e.g. 'shop')") from None
            self.stdout.write(f"created demo service '{service}'")
        User = get_user_model()
        if User.objects.filter(username=admin_username).exists():
            self.stdout.write(f"admin user '{admin_username}' exists; password unchanged "
                              f"(reset it with `manage.py changepassword {admin_username}`)")
        else:
            password = secrets.token_urlsafe(15)
            # Through the accounts service (the system user may grant superuser): the account is in the audit trail.
            services_users.create_user(username=admin_username, password=password, is_staff=True, is_superuser=True,
                                       groups=[roles.ADMINISTRATOR], actor=actor, reason="seed_demo: the first admin")
            # Printed once, to the terminal only (never logged); it is not stored anywhere in clear.
            self.stdout.write(self.style.SUCCESS(
                f"\n  Admin login (shown once): username '{admin_username}', password '{password}'\n"))
        if not User.objects.filter(username=DEMO_SERVICE_ACCOUNT).exists():
            services_users.create_service_account(username=DEMO_SERVICE_ACCOUNT, actor=actor, reason=reason,
                                                  description="CI pipelines of the demo (owns their API tokens)")
            self.stdout.write(f"created service account '{DEMO_SERVICE_ACCOUNT}' (tokens for CI: "
                              f"manage.py create_token --owner {DEMO_SERVICE_ACCOUNT} …)")
        if minimal or missing:
            return
        created = demo.users()
        if created:
            lines = "\n".join(f"    {u:<8} {role:<18} password '{pw}'" for u, role, pw in created)
            self.stdout.write(self.style.SUCCESS(f"\n  Demo logins (shown once; two per role):\n{lines}\n"))
        for line in demo.load(Service.objects.get(slug=service), actor):
            self.stdout.write(f"demo: {line}")
