"""Where flag snapshots are served from, fastest first, and what happens when things fail.

1. memory: this process's copy, trusted for FLAGS_MEMORY_TTL_SECONDS, then checked against a
   generation key in the shared cache (one cache read; a change bumps the key after commit);
2. cache: the shared cache (Redis, or the database cache), keyed by that generation;
3. database: built from PostgreSQL, then put in the shared cache and in memory, and written
   atomically to the last-known-good file (FLAGS_LKG_DIR) whenever it differs from what is there.

When the shared cache or the database fails (OperationalError/InterfaceError, or any cache error),
the process answers from its in-process copy (degraded: evaluate reasons become CACHED), else from
the last-known-good file (STALE, or the flag's failure mode), else not at all (the caller applies
each flag's failure mode). A failed backend is not retried for FLAGS_DB_RETRY_SECONDS, so an
outage does not cost a connection timeout per request.

Break-glass overrides (`flags.breakglass`) are applied on top of every layer on every request, and
emergency toggles whose expiry passed since the body was built are served reverted (the values
`flags.expiry` decided at build time), so both hold without a database or a worker; likewise chaos
faults past their expiry leave the body, and a pending break-glass "halt all chaos" empties `faults`;
nothing here writes. The body is signed after that (govctl.flags.snapshot.sign_snapshot) with the current key,
whose id it carries as "kid" (docs/SECURITY.md, key rotation): what is served is signed.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from govctl.flags import degraded
from govctl.flags.evaluation import Result, State
from govctl.flags.snapshot import KEY_ID_MEMBER, canonical_json, sign_snapshot, write_atomic

from flags import breakglass
from governance import db_router

log = logging.getLogger("flags.delivery")

GENERATION_KEY = "flags:generation"
DB_ERRORS = (OperationalError, InterfaceError)


class UnknownTarget(LookupError):
    """The service or the environment does not exist."""


@dataclasses.dataclass(frozen=True)
class _Base:
    """A snapshot body as built from the database, before overrides and signature."""

    service: str
    environment: str
    body: dict[str, Any]
    expiries: tuple[tuple[float, str, dict[str, Any]], ...]  # (epoch, feature, revert_to)
    service_id: int | None
    environment_id: int | None
    generation: str | None
    checked_at: float  # time.monotonic() when the shared cache or the database last confirmed it
    fault_expiries: tuple[float, ...] = ()  # when each chaos fault in the body ends (epoch seconds)

    def next_expiry(self) -> float | None:
        return min((*(at for at, _, _ in self.expiries), *self.fault_expiries), default=None)


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What a request gets: the signed body, its bytes and ETag, and the compiled state."""

    service: str
    environment: str
    service_id: int | None
    environment_id: int | None
    body: dict[str, Any]
    content: bytes
    etag: str
    state: State
    source: str  # database | cache | memory | lkg-file | break-glass
    degraded: bool
    overridden: frozenset[str]
    _constants: dict[str, Result] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def revision(self) -> Any:
        return self.body.get("revision")

    def constant(self, key: str) -> Result:
        """The answer for an empty context (the portal's guards read these on every request): once per snapshot."""
        result = self._constants.get(key)
        if result is None:
            result = self._constants[key] = resolve(self, key, None)
        return result


_lock = threading.Lock()
_memory: dict[tuple[str, str], _Base] = {}
_final: dict[tuple[str, str], tuple[tuple[Any, ...], Snapshot]] = {}
_lkg_read: dict[tuple[str, str], tuple[tuple[int, int], _Base | None]] = {}
_lkg_written: dict[tuple[str, str], bytes] = {}
_open_until = {"cache": 0.0, "db": 0.0}  # circuit breaker per backend (time.monotonic())
_missing: dict[tuple[str, str], tuple[float, str]] = {}  # unknown targets, remembered like snapshots
MAX_MISSING = 1024
_namespace = {"value": "v1"}  # part of every shared-cache key; reset() moves it (tests share one cache table)


def signing_secret() -> str:
    return signing_key()[1]


def signing_key() -> tuple[str | None, str]:
    """(key id, secret) the portal signs snapshots with now: the current key of FLAGS_SIGNING_KEYS, else the
    one unnamed FLAGS_SIGNING_SECRET (id None: the body carries no "kid", as before keys had ids)."""
    kid = settings.FLAGS_SIGNING_KEY_ID
    if kid:
        return kid, settings.FLAGS_SIGNING_KEYS[kid]
    return None, settings.FLAGS_SIGNING_SECRET


def reset() -> None:
    """Forget every in-process copy (tests; a fresh process starts like this)."""
    with _lock:
        _memory.clear()
        _final.clear()
        _lkg_read.clear()
        _lkg_written.clear()
        _missing.clear()
        _open_until.update(cache=0.0, db=0.0)
        _namespace["value"] = uuid.uuid4().hex
    breakglass._forget()


def invalidate() -> None:
    """A flag changed: drop this process's copies and bump the shared generation for the others."""
    with _lock:
        _memory.clear()
        _final.clear()
        _missing.clear()
    db_router.note_change()  # builds read the primary for a while (read-your-writes; no-op without a replica)
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
    except Exception as exc:  # the cache may be down with the database; other processes catch up by TTL
        log.warning("flags: could not bump the snapshot generation: %s", exc)


def next_expiry(service: str, environment: str) -> float | None:
    """When the held snapshot of (service, environment) next changes by itself (an emergency toggle's
    expiry, epoch seconds), or None: the stream server wakes up then to announce the revert."""
    held = _memory.get((service, environment))
    return None if held is None else held.next_expiry()


def lkg_path(service: str, environment: str) -> Path:
    return Path(settings.FLAGS_LKG_DIR) / f"snapshot-{service}-{environment}.json"


# --- layers -----------------------------------------------------------------------------------------

def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _base_from_payload(service: str, environment: str, payload: dict[str, Any], generation: str | None) -> _Base:
    expiries = tuple(sorted((_epoch(e["at"]), e["feature"], e["revert_to"]) for e in payload.get("expiries", [])))
    faults = tuple(sorted(_epoch(f["expires_at"]) for f in payload["body"].get("faults") or ()))
    return _Base(service, environment, payload["body"], expiries, payload.get("service_id"),
                 payload.get("environment_id"), generation, time.monotonic(), faults)


def _circuit_open(backend: str) -> bool:
    return time.monotonic() < _open_until[backend]


def _trip(backend: str, exc: Exception) -> None:
    _open_until[backend] = time.monotonic() + settings.FLAGS_DB_RETRY_SECONDS
    log.warning("flags: %s unavailable (%s: %s); serving fallbacks for %ss", backend, exc.__class__.__name__, exc,
                settings.FLAGS_DB_RETRY_SECONDS)


def _snapshot_key(generation: str, service: str, environment: str) -> str:
    return f"flags:snapshot:{_namespace['value']}:{generation}:{service}:{environment}"


def _build_from_database(service: str, environment: str) -> dict[str, Any]:
    """Built from the read replica when governance.db_router allows it, else (or when it fails) the primary."""
    if db_router.use_replica():
        try:
            with db_router.delivery_reads(True):
                return _build(service, environment)
        except DB_ERRORS as exc:
            log.warning("flags: the read replica failed (%s); building from the primary", exc)
            db_router.mark_failed()
    return _build(service, environment)


def _build(service: str, environment: str) -> dict[str, Any]:
    from flags import snapshots
    from governance.models import Environment, Service

    service_row = Service.objects.filter(slug=service).first()
    environment_row = Environment.objects.filter(slug=environment).first()
    if service_row is None or environment_row is None:
        raise UnknownTarget(f"no service '{service}'" if service_row is None else f"no environment '{environment}'")
    # An ended toggle is served reverted (flags.expiry) without writing: the expiry job records it.
    return snapshots.build(service_row, environment_row)


def _write_lkg(base: _Base) -> None:
    key = (base.service, base.environment)
    payload = {"body": base.body, "service_id": base.service_id, "environment_id": base.environment_id,
               "expiries": [{"at": datetime.fromtimestamp(at).astimezone().isoformat(), "feature": f,
                             "revert_to": r} for at, f, r in base.expiries]}
    data = canonical_json(payload)
    if _lkg_written.get(key) == data:
        return
    try:
        write_atomic(lkg_path(*key), data)
        _lkg_written[key] = data
    except OSError as exc:
        log.error("flags: cannot write the last-known-good file %s: %s", lkg_path(*key), exc)


def _read_lkg(service: str, environment: str) -> _Base | None:
    path = lkg_path(service, environment)
    try:
        stat = path.stat()
    except OSError:
        return None
    signature = (stat.st_mtime_ns, stat.st_size)
    seen = _lkg_read.get((service, environment))
    if seen and seen[0] == signature:
        return seen[1]
    try:
        base: _Base | None = _base_from_payload(service, environment, json.loads(path.read_bytes()), None)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("flags: the last-known-good file %s is unreadable: %s", path, exc)
        base = None
    _lkg_read[(service, environment)] = (signature, base)
    return base


def _refresh(service: str, environment: str, held: _Base | None) -> tuple[_Base, str]:
    """Confirm or replace the in-process copy through the shared cache, then the database."""
    key = (service, environment)
    if breakglass.entries() and not _circuit_open("db"):
        try:
            breakglass.replay()  # the database may be back: record what was switched while it was away
        except DB_ERRORS as exc:
            _trip("db", exc)
    generation = None
    if not _circuit_open("cache"):
        try:
            generation = cache.get(GENERATION_KEY)
            if generation is None:
                cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
                generation = cache.get(GENERATION_KEY)
            now = time.time()
            if held is not None and held.generation == generation and (held.next_expiry() or now + 1) > now:
                base = dataclasses.replace(held, checked_at=time.monotonic())
                _memory[key] = base
                return base, "memory"
            payload = cache.get(_snapshot_key(generation, service, environment))
            if payload is not None:
                base = _base_from_payload(service, environment, payload, generation)
                if (base.next_expiry() or now + 1) > now:
                    _memory[key] = base
                    _write_lkg(base)
                    return base, "cache"
        except Exception as exc:
            _trip("cache", exc)
            generation = None
    if _circuit_open("db"):
        raise OperationalError("the database is marked unavailable (circuit open)")
    try:
        payload = _build_from_database(service, environment)
    except DB_ERRORS as exc:
        _trip("db", exc)
        raise
    base = _base_from_payload(service, environment, payload, generation)
    if generation is not None:
        try:
            cache.set(_snapshot_key(generation, service, environment), payload, settings.FLAGS_CACHE_TIMEOUT)
        except Exception as exc:
            _trip("cache", exc)
    _memory[key] = base
    _write_lkg(base)
    return base, "database"


def get_snapshot(service: str, environment: str) -> Snapshot | None:
    """The snapshot to serve for (service, environment), or None when no layer has one.

    Raises UnknownTarget when the database says the service or environment does not exist.
    """
    key = (service, environment)
    missing = _missing.get(key)
    if missing is not None and time.monotonic() - missing[0] < settings.FLAGS_MEMORY_TTL_SECONDS:
        raise UnknownTarget(missing[1])
    held = _memory.get(key)
    now = time.time()
    fresh = (held is not None and time.monotonic() - held.checked_at < settings.FLAGS_MEMORY_TTL_SECONDS
             and (held.next_expiry() or now + 1) > now)
    degraded = False
    if fresh:
        base: _Base | None = held
        source = "memory"
    else:
        try:
            base, source = _refresh(service, environment, held)
        except UnknownTarget as exc:
            if len(_missing) >= MAX_MISSING:
                _missing.clear()  # a scan of made-up names must not grow memory; forgetting costs one lookup each
            _missing[key] = (time.monotonic(), str(exc))
            raise
        except DB_ERRORS:
            degraded = True
            base, source = (held, "memory") if held is not None else (_read_lkg(service, environment), "lkg-file")
    return _finish(key, base, source, degraded, now)


# --- overrides, expiries, signature -------------------------------------------------------------------

def _set_feature(features: list[dict[str, Any]], name: str, changes: dict[str, Any]) -> None:
    from flags.snapshots import number_variant

    for item in features:
        if item.get("name") == name:
            break
    else:
        item = {"name": name, "type": "kill-switch", "enabled": False, "strategies": [], "variants": [],
                "failureMode": "last_known_good", "valueType": "boolean"}
        features.append(item)
    if "enabled" in changes:
        item["enabled"] = bool(changes["enabled"])
    if changes.get("number") is not None:
        item["variants"] = [number_variant(changes["number"])]


def _finish(key: tuple[str, str], base: _Base | None, source: str, degraded: bool, now: float) -> Snapshot | None:
    overrides = breakglass.active(key[0], key[1], now)
    halts = breakglass.chaos_halts(now)
    if base is None and not overrides:
        return None
    expired = tuple(e for e in (base.expiries if base else ()) if e[0] <= now)
    kid, secret = signing_key()
    # A chaos fault ends on its own at its expiry, and a pending break-glass halt ends every fault.
    ended_faults = sum(1 for at in (base.fault_expiries if base else ()) if at <= now or halts)
    memo_key = (id(base), base.checked_at if base else None, source, degraded,
                tuple(o["id"] for o in overrides), tuple(f for _, f, _ in expired), ended_faults, kid, secret)
    memo = _final.get(key)
    if memo is not None and memo[0] == memo_key:
        return memo[1]
    if base is None:
        body: dict[str, Any] = {"version": 2, "service": key[0], "environment": key[1], "revision": None,
                                "generated_at": None, "features": [], "segments": [], "faults": []}
        source = "break-glass"
    else:
        body = copy.deepcopy(base.body) if (expired or overrides) else dict(base.body)
    if ended_faults:
        body["faults"] = [] if halts else [f for f in body.get("faults") or () if _epoch(f["expires_at"]) > now]
    for _, feature, revert_to in expired:
        _set_feature(body["features"], feature, revert_to)
    for override in overrides:
        _set_feature(body["features"], override["flag"], {"enabled": override["enabled"]})
    if overrides:
        body["breakGlass"] = [{"flag": o["flag"], "enabled": o["enabled"], "reason": o["reason"],
                               "expires_at": o["expires_at"]} for o in overrides]
    body.pop("signature", None)
    body.pop(KEY_ID_MEMBER, None)
    if kid is not None:
        body[KEY_ID_MEMBER] = kid  # inside what is signed: which key an SDK must verify with
    body["signature"] = sign_snapshot(body, secret)
    content = canonical_json(body)
    snapshot = Snapshot(
        service=key[0], environment=key[1],
        service_id=base.service_id if base else None, environment_id=base.environment_id if base else None,
        body=body, content=content, etag=f'"{hashlib.sha256(content).hexdigest()[:40]}"', state=State(body),
        source=source, degraded=degraded or base is None, overridden=frozenset(o["flag"] for o in overrides),
    )
    with _lock:
        _final[key] = (memo_key, snapshot)
    return snapshot


# --- evaluation with the layers' semantics ------------------------------------------------------------

def resolve(snapshot: Snapshot | None, key: str, context: Any, default: Any = None) -> Result:
    """Evaluate like the SDK does: degraded answers say so (CACHED, STALE or the failure mode)."""
    if snapshot is None:
        return degraded.answer(None, key, context, default, freshness=degraded.FALLBACK,
                               why="the portal has no flag data for this service and environment")
    if not snapshot.degraded or key in snapshot.overridden:
        freshness = degraded.FRESH
    else:
        freshness = degraded.CACHED if snapshot.source == "memory" else degraded.FALLBACK
    return degraded.answer(snapshot.state, key, context, default, freshness=freshness,
                           why="the portal's database is unreachable")
