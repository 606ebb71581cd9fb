"""Authentication and throttling for flag delivery: cheap on the hot path, alive without the database.

Tokens are the portal's API tokens. A verified token is kept in this process for
FLAGS_TOKEN_CACHE_SECONDS, so a snapshot poll costs no query (a revoked token keeps working on
flag reads for at most that long). When PostgreSQL is unreachable, a token this process verified
before keeps working on flag reads (its expiry is still checked); an unknown one gets 503.

Unleash SDKs send the bare token in `Authorization`, OFREP providers may use `X-API-Key`: all
three forms are accepted. Throttles count per process in memory (the shared database cache is
down with the database), scaled by the portal's `rate_limit_multiplier`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, cast

from django.conf import settings
from django.db import InterfaceError, OperationalError
from govctl.django_middleware import rate_limit_multiplier
from govctl.flags.guards import scaled_rate
from rest_framework import authentication, exceptions, throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from flags.portal_source import source
from governance import services as core
from governance.models import ApiToken

log = logging.getLogger("flags.auth")

_tokens: dict[str, tuple[float, ApiToken]] = {}
_tokens_lock = threading.Lock()
MAX_CACHED_TOKENS = 10_000


class Unavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The portal cannot verify this token right now (database unreachable); retry later."
    default_code = "unavailable"


def forget_tokens() -> None:
    with _tokens_lock:
        _tokens.clear()
    forget_throttles()


def _verify(secret: str) -> ApiToken | None:
    digest = core.digest_secret(secret)
    held = _tokens.get(digest)
    token: ApiToken | None
    if held is not None and time.monotonic() - held[0] < settings.FLAGS_TOKEN_CACHE_SECONDS:
        token = held[1]
    else:
        try:
            token = core.authenticate_secret(secret)
            if token is not None:
                core.touch_token(token)
        except (OperationalError, InterfaceError) as exc:
            if held is None:
                raise Unavailable() from exc
            log.warning("flags: database unreachable, accepting token %s verified %.0fs ago", held[1].prefix,
                        time.monotonic() - held[0])
            token = held[1]
        else:
            with _tokens_lock:
                if len(_tokens) >= MAX_CACHED_TOKENS:
                    _tokens.clear()
                if token is None:
                    _tokens.pop(digest, None)
                else:
                    _tokens[digest] = (time.monotonic(), token)
    if token is None or not token.is_active():
        return None
    return token


_MALFORMED = object()


def secret_from(meta: dict[str, Any]) -> Any:
    """The token a flag read sends: None without one, _MALFORMED for an Authorization header we can't read.

    Reads META, not request.headers: building the headers mapping is the costliest step of a poll.
    """
    header = meta.get("HTTP_AUTHORIZATION", "").strip()
    parts = header.split()
    if len(parts) == 2 and parts[0] == "Bearer":
        return parts[1]
    if len(parts) == 1 and parts[0].startswith(core.TOKEN_PREFIX):
        return parts[0]  # Unleash SDKs: the token without a scheme
    if not header and meta.get("HTTP_X_API_KEY"):
        return meta["HTTP_X_API_KEY"].strip()
    return None if not header else _MALFORMED


def verified_token(meta: dict[str, Any]) -> ApiToken | None:
    """The active token of a request, without raising: None for anything but a valid one (the caller then
    takes the path that explains why). Raises Unavailable only like _verify does."""
    secret = secret_from(meta)
    if secret is None or secret is _MALFORMED:
        return None
    return _verify(secret)


class FlagTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        secret = secret_from(request.META)
        if secret is None:
            return None
        if secret is _MALFORMED:
            raise exceptions.AuthenticationFailed("Send one token: 'Authorization: Bearer <token>'.")
        token = _verify(secret)
        if token is None:
            raise exceptions.AuthenticationFailed("The token is invalid, expired or revoked.")
        return token.owner, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class FlagReadThrottle(throttling.BaseThrottle):
    """Per token and per process, a token bucket of FLAGS_THROTTLE_RATE scaled by the portal's
    rate_limit_multiplier: O(1) per request (DRF's SimpleRateThrottle keeps and copies a timestamp per
    request in the window), and no shared cache to lose with the database.
    """

    _buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens left, time.monotonic() of the last request)
    _lock = threading.Lock()
    _parsed: dict[tuple[str, float], tuple[int, int]] = {}
    MAX_KEYS = 10_000

    def __init__(self) -> None:
        self._wait: float | None = None

    @classmethod
    def _rate(cls) -> tuple[int, int]:
        # a DRF rate is a "count/period" string (the DRF stubs type the setting as a number)
        configured = cast(str, api_settings.DEFAULT_THROTTLE_RATES["flags"])
        key = (configured, rate_limit_multiplier(source))
        parsed = cls._parsed.get(key)
        if parsed is None:
            count, period = scaled_rate(*key).split("/")
            parsed = cls._parsed[key] = (int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0].lower()])
        return parsed

    def allow_request(self, request: Request, view: Any) -> bool:
        token = request.auth
        key = f"token-{token.pk}" if isinstance(token, ApiToken) else f"ip-{self.get_ident(request)}"
        self._wait = self.take(key)
        return self._wait is None

    @classmethod
    def take(cls, key: str) -> float | None:
        """Spend one request of `key`'s bucket: None when allowed, else the seconds to wait."""
        count, seconds = cls._rate()
        if count == 0:
            return float(seconds)
        now = time.monotonic()
        with cls._lock:
            left, last = cls._buckets.get(key, (float(count), now))
            left = min(float(count), left + (now - last) * count / seconds)
            if left < 1:
                cls._buckets[key] = (left, now)
                return (1 - left) * seconds / count
            if len(cls._buckets) >= cls.MAX_KEYS and key not in cls._buckets:
                cls._buckets.clear()  # forgetting lets a few extra requests through, nothing worse
            cls._buckets[key] = (left - 1, now)
        return None

    def wait(self) -> float | None:
        return self._wait


def forget_throttles() -> None:
    with FlagReadThrottle._lock:
        FlagReadThrottle._buckets.clear()
