"""The audited reason of a change made by a management command."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from governance.reasons import REASON_MAX, require_reason


def command_reason(reason: str, command: str) -> str:
    """`reason` checked like any typed reason (a CommandError when blank or over REASON_MAX), then marked with the command.

    Checked before the suffix is added: "(manage.py …)" alone is not a reason."""
    try:
        return require_reason(f"{require_reason(reason, limit=REASON_MAX)} (manage.py {command})")
    except ValidationError as exc:
        raise CommandError(f"--reason: {'; '.join(exc.messages)}") from None
