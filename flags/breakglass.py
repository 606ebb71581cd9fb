"""Break-glass overrides: engage a kill switch or maintenance mode when PostgreSQL is down.

`manage.py flags_break_glass` appends an override to `break-glass.json` in FLAGS_LKG_DIR (next to
the last-known-good snapshots). Every portal process stats that file on each request and applies
the active overrides on top of whatever layer served the snapshot, so the switch holds at once,
without the database. When the database answers again, `replay()` writes each override into the
database through the flag services (history with actor and reason); the override's id is
recorded in BreakGlassRecord in the same transaction, so a replay happens once whichever process
runs it (the command itself, the job every minute, or the next snapshot build).

Other apps add actions of their own through `governance.hooks.BREAK_GLASS_ACTIONS` (chaos: "halt-chaos",
service and environment "*": every snapshot is served without chaos faults until the replay records the
halt in the database); the file, the lock, the once-only record and the replay are the same.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from govctl.flags.snapshot import write_atomic

log = logging.getLogger("flags.breakglass")

FILE_NAME = "break-glass.json"
ACTIONS = ("engage", "disengage")
EVERYWHERE = "*"
HALT_CHAOS = "halt-chaos"

RECHECK_SECONDS = 0.02
_seen: dict[str, Any] = {"checked": float("-inf"), "signature": None, "entries": []}
_path: dict[str, Any] = {"dir": None, "path": None}


def path() -> Path:
    directory = settings.FLAGS_LKG_DIR
    if _path["dir"] != directory:  # stat()ed on every request: build the path once per setting
        _path.update(dir=directory, path=Path(directory) / FILE_NAME)
    return _path["path"]


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """Serialise writers (the command and replays in several processes) on one lock file."""
    lock_path = path().with_suffix(".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _parse(raw: bytes) -> list[dict[str, Any]]:
    entries = json.loads(raw).get("overrides", [])
    for entry in entries:
        expires = entry.get("expires_at")
        entry["_expires"] = datetime.fromisoformat(expires).timestamp() if expires else None
    return entries


def entries() -> list[dict[str, Any]]:
    """The overrides on disk. The file is stat()ed at most every RECHECK_SECONDS (a request reads flags
    several times; an override written by another process is seen within that) and re-read when it changed.
    """
    now = time.monotonic()
    if now - _seen["checked"] < RECHECK_SECONDS:
        return _seen["entries"]
    _seen["checked"] = now
    try:
        stat = os.stat(path())
    except FileNotFoundError:
        _seen.update(signature=None, entries=[])
        return []
    signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    if signature != _seen["signature"]:
        try:
            parsed = _parse(path().read_bytes())
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.error("flags: the break-glass file %s is unreadable: %s", path(), exc)
            parsed = []
        _seen.update(signature=signature, entries=parsed)
    return _seen["entries"]


def _forget() -> None:
    _seen.update(checked=float("-inf"), signature=None, entries=[])


def active(service: str, environment: str, now: float) -> list[dict[str, Any]]:
    """Overrides in force for (service, environment), oldest first (a later one wins)."""
    return [e for e in entries() if e["service"] == service and e["environment"] == environment
            and (e["_expires"] is None or e["_expires"] > now)]


def chaos_halts(now: float) -> list[dict[str, Any]]:
    """Pending "halt all chaos" entries: while one is on disk no snapshot carries a chaos fault."""
    items = entries()
    if not items:
        return []
    return [e for e in items if e.get("action") == HALT_CHAOS and (e["_expires"] is None or e["_expires"] > now)]


def _write(items: list[dict[str, Any]]) -> None:
    clean = [{k: v for k, v in item.items() if not k.startswith("_")} for item in items]
    write_atomic(path(), json.dumps({"overrides": clean}, indent=2, ensure_ascii=False).encode("utf-8"))


def add(*, service: str, environment: str, flag: str, action: str, reason: str,
        expires_in: timedelta | None = None, operator: str | None = None,
        actor_username: str | None = None) -> dict[str, Any]:
    """Write an override; it is in force on every portal process reading this directory at once."""
    from governance import hooks

    if action not in ACTIONS and action not in hooks.BREAK_GLASS_ACTIONS:
        raise ValueError(f"action must be one of {', '.join([*ACTIONS, *hooks.BREAK_GLASS_ACTIONS])}")
    now = timezone.now()
    entry = {
        "id": uuid.uuid4().hex,
        "service": service,
        "environment": environment,
        "flag": flag,
        "action": action,
        "enabled": action == "engage",
        "reason": reason,
        "operator": operator or f"{getpass.getuser()}@{socket.gethostname()}",
        "actor": actor_username,  # the portal user to record, if any (else the system user)
        "created_at": now.isoformat(),
        "expires_at": (now + expires_in).isoformat() if expires_in else None,
    }
    with _locked():
        current = _parse(path().read_bytes()) if path().exists() else []
        _write([*current, entry])
    _forget()  # this process sees it on its very next read
    return entry


def _remove(ids: set[str]) -> None:
    with _locked():
        current = _parse(path().read_bytes()) if path().exists() else []
        remaining = [e for e in current if e["id"] not in ids]
        if remaining:
            _write(remaining)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path())
    _forget()


def _replay_one(entry: dict[str, Any], actor: Any) -> str:
    from flags import services
    from flags.models import BreakGlassRecord
    from governance.models import Environment, Service

    with transaction.atomic():
        try:
            with transaction.atomic():
                BreakGlassRecord.objects.create(
                    override_id=entry["id"], service_slug=entry["service"], environment_slug=entry["environment"],
                    flag_key=entry["flag"], action=entry["action"], reason=entry["reason"],
                    operator=entry.get("operator", "")[:150], created_at=datetime.fromisoformat(entry["created_at"]),
                )
        except IntegrityError:
            return "already recorded"
        if entry["action"] not in ACTIONS:  # another app's action (governance.hooks.BREAK_GLASS_ACTIONS)
            from governance import hooks

            return hooks.BREAK_GLASS_ACTIONS[entry["action"]](entry=entry, actor=actor)
        service = Service.objects.get(slug=entry["service"])
        environment = Environment.objects.get(slug=entry["environment"])
        state = services.state_for(service=service, environment=environment, key=entry["flag"])
        created = datetime.fromisoformat(entry["created_at"])
        # The full story (operator, reason, override id) is on the BreakGlassRecord; history keeps the gist.
        reason = services.fit_reason(f"break-glass {entry['action']} {created:%H:%M} UTC by "
                                     f"{entry.get('operator', '?').split('@')[0]}: {entry['reason']}")
        if entry["action"] == "engage":
            expires_at = datetime.fromisoformat(entry["expires_at"]) if entry.get("expires_at") else None
            outcome = services.engage_kill_switch(state=state, actor=actor, reason=reason, expires_at=expires_at,
                                                  break_glass=True)
        else:
            outcome = services.disengage_kill_switch(state=state, actor=actor, reason=reason, break_glass=True)
        # An override that expired while the database was away is served reverted at once (flags.expiry);
        # the expiry job records its end.
        return f"recorded as revision {outcome.state.revision}"


def replay(*, actor: Any = None) -> list[tuple[dict[str, Any], str]]:
    """Write pending overrides into the database (in order); returns (entry, outcome) for each."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ObjectDoesNotExist, ValidationError

    from governance.services import system_user

    pending = [dict(e) for e in entries()]
    if not pending:
        return []
    results: list[tuple[dict[str, Any], str]] = []
    done: set[str] = set()
    for entry in pending:
        named = entry.get("actor") and get_user_model().objects.filter(username=entry["actor"]).first()
        try:
            outcome = _replay_one(entry, actor or named or system_user())
        except (ValidationError, ObjectDoesNotExist) as exc:
            message = "; ".join(getattr(exc, "messages", [str(exc)]))
            log.error("flags: break-glass override %s (%s %s/%s@%s) cannot be recorded: %s", entry["id"],
                      entry["action"], entry["service"], entry["flag"], entry["environment"], message)
            results.append((entry, f"not recorded: {message}"))
            continue
        log.warning("flags: break-glass override %s %s", entry["id"], outcome)
        results.append((entry, outcome))
        done.add(entry["id"])
    if done:
        _remove(done)
    return results
