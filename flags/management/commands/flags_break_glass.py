"""Break glass: engage/disengage a kill switch or maintenance mode, even with PostgreSQL down.

    manage.py flags_break_glass engage maintenance_mode --service shop --environment production \\
        --reason "database down, INC-123" [--expires-in 30m] [--actor USERNAME]
    manage.py flags_break_glass status
    manage.py flags_break_glass replay

The override file in FLAGS_LKG_DIR takes effect at once on every portal process reading that
directory; the command then writes it into the database (history + audit trail) if the database
answers, else the replay happens when it returns (job every minute, next snapshot build, or
`replay`). Run it on every portal machine when FLAGS_LKG_DIR is not shared.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, connection
from govctl.flags import flag_ops

from flags import breakglass, delivery, expiry, services

DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
BUILTIN_KILL_SWITCHES = flag_ops.BUILTIN_KILL_SWITCHES


def parse_duration(text: str) -> timedelta:
    match = DURATION.match(text or "")
    if not match:
        raise CommandError(f"--expires-in takes a number and a unit (s, m, h, d), e.g. 30m; got {text!r}")
    duration = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        return expiry.check_duration(duration)
    except expiry.ExpiryError as exc:
        raise CommandError(f"--expires-in: {exc}") from None


def _database_up() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except (OperationalError, InterfaceError):
        connection.close_if_unusable_or_obsolete()
        return False


def _actor(username: str | None) -> Any:
    """The portal user --actor names (None: the system user), or a CommandError."""
    if not username:
        return None
    actor = get_user_model().objects.filter(username=username).first()
    if actor is None:
        raise CommandError(f"no portal user {username!r}")
    return actor


class Command(BaseCommand):
    help = "Engage or disengage a kill switch / maintenance mode at once, with or without the database."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["engage", "disengage", "status", "replay"])
        parser.add_argument("flag", nargs="?", help="e.g. maintenance_mode, kill_switch_api")
        parser.add_argument("--service")
        parser.add_argument("--environment")
        parser.add_argument("--reason")
        parser.add_argument("--expires-in", help="e.g. 30m, 2h (maintenance mode: 30m unless given)")
        parser.add_argument("--actor", help="portal username to record as the actor (default: the system user)")

    def handle(self, *args: Any, action: str, **o: Any) -> None:
        if action == "status":
            self._status()
            return
        if action == "replay":
            self._replay(o.get("actor"))
            return
        missing = [f"--{n}" for n in ("service", "environment", "reason") if not (o.get(n) or "").strip()]
        if not o.get("flag"):
            missing.insert(0, "FLAG")
        if missing:
            raise CommandError(f"{action} needs {', '.join(missing)}")
        flag, service, environment = o["flag"], o["service"], o["environment"]
        expires_in = parse_duration(o["expires_in"]) if o.get("expires_in") else None
        if action == "disengage" and expires_in:
            raise CommandError("--expires-in applies to engage only")
        if action == "engage" and flag == services.MAINTENANCE and expires_in is None:
            expires_in = expiry.DEFAULT_MAINTENANCE
        database_up = _database_up()
        self._check_flag(flag, service, environment, database_up)
        if database_up:
            _actor(o.get("actor"))  # an unknown --actor is refused before the override takes effect
        entry = breakglass.add(service=service, environment=environment, flag=flag, action=action,
                               reason=o["reason"].strip(), expires_in=expires_in, actor_username=o.get("actor"))
        until = f" until {entry['expires_at']}" if entry["expires_at"] else " until disengaged"
        self.stdout.write(self.style.WARNING(
            f"IN EFFECT NOW: {flag} {'ENGAGED' if action == 'engage' else 'disengaged'} for {service}/{environment}"
            f"{until if action == 'engage' else ''} (override {entry['id'][:8]} in {breakglass.path()})"))
        if database_up:
            self._replay(o.get("actor"))
        else:
            self.stdout.write("The database is unreachable: the override will be written into the database and the "
                              "audit trail when it returns (job every minute, next snapshot build, or "
                              "`manage.py flags_break_glass replay`).")

    def _check_flag(self, flag: str, service: str, environment: str, database_up: bool) -> None:
        if database_up:
            from flags.models import FlagState, Kind

            state = FlagState.objects.filter(flag__service__slug=service, environment__slug=environment,
                                             flag__key=flag, flag__archived_at__isnull=True).select_related("flag").first()
            if state is None:
                raise CommandError(f"{service} has no flag {flag!r} in {environment}")
            if state.flag.kind != Kind.KILL_SWITCH:
                raise CommandError(f"{flag} is a {state.flag.kind} flag: break glass is for kill switches "
                                   "(and maintenance mode) only")
            return
        base = delivery._read_lkg(service, environment)
        if base is not None:
            kinds = {f.get("name"): f.get("type") for f in base.body.get("features", [])}
            if kinds.get(flag) != "kill-switch":
                raise CommandError(f"the last known snapshot of {service}/{environment} has no kill switch {flag!r}")
        elif flag not in BUILTIN_KILL_SWITCHES:
            where = delivery.lkg_path(service, environment).parent
            raise CommandError(f"no last-known snapshot of {service}/{environment} in {where}: only"
                               f" {', '.join(sorted(BUILTIN_KILL_SWITCHES))} can be switched blind")

    def _status(self) -> None:
        entries = breakglass.entries()
        if not entries:
            self.stdout.write(f"No break-glass override pending ({breakglass.path()}).")
            return
        for entry in entries:
            self.stdout.write(json.dumps({k: v for k, v in entry.items() if not k.startswith("_")},
                                         ensure_ascii=False))

    def _replay(self, username: str | None) -> None:
        actor = _actor(username)
        try:
            results = breakglass.replay(actor=actor)
        except (OperationalError, InterfaceError) as exc:
            raise CommandError(f"the database is unreachable ({exc.__class__.__name__}); the override stays in force "
                               "from the file and will be replayed later") from None
        if not results:
            self.stdout.write("Nothing to replay.")
        for entry, outcome in results:
            self.stdout.write(f"{entry['action']} {entry['service']}/{entry['flag']}@{entry['environment']}: "
                              f"{outcome}")
        if any(outcome.startswith("not recorded") for _, outcome in results):
            raise CommandError("some overrides could not be recorded (see above); they stay in force from the file")
