"""The audited reason of a change made by a management command."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from governance import services


def command_reason(reason: str, command: str) -> str:
    """`reason` checked like any other (a CommandError when blank or too long), then marked with the command.

    Checked before the suffix is added: "(manage.py …)" alone is not a reason."""
    try:
        return services.require_reason(f"{services.require_reason(reason)} (manage.py {command})")
    except ValidationError as exc:
        raise CommandError(f"--reason: {'; '.join(exc.messages)}") from None
