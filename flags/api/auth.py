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
from govctl.guards import scaled_rate
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


class FlagTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        # META, not DRF's get_authorization_header: that builds request.headers, the costliest step of a poll
        header = request.META.get("HTTP_AUTHORIZATION", "").strip()
        parts = header.split()
        if len(parts) == 2 and parts[0] == self.keyword:
            secret = parts[1]
        elif len(parts) == 1 and parts[0].startswith(core.TOKEN_PREFIX):
            secret = parts[0]  # Unleash SDKs: the token without a scheme
        elif not header and request.META.get("HTTP_X_API_KEY"):
            secret = request.META["HTTP_X_API_KEY"].strip()
        elif not header:
            return None
        else:
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

    def _rate(self) -> tuple[int, float]:
        # a DRF rate is a "count/period" string (the DRF stubs type the setting as a number)
        configured = cast(str, api_settings.DEFAULT_THROTTLE_RATES["flags"])
        key = (configured, rate_limit_multiplier(source))
        parsed = self._parsed.get(key)
        if parsed is None:
            count, period = scaled_rate(*key).split("/")
            parsed = self._parsed[key] = (int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0].lower()])
        return parsed

    def allow_request(self, request: Request, view: Any) -> bool:
        count, seconds = self._rate()
        if count == 0:
            self._wait = seconds
            return False
        token = request.auth
        key = f"token-{token.pk}" if isinstance(token, ApiToken) else f"ip-{self.get_ident(request)}"
        now = time.monotonic()
        with self._lock:
            left, last = self._buckets.get(key, (float(count), now))
            left = min(float(count), left + (now - last) * count / seconds)
            if left < 1:
                self._wait = (1 - left) * seconds / count
                self._buckets[key] = (left, now)
                return False
            if len(self._buckets) >= self.MAX_KEYS and key not in self._buckets:
                self._buckets.clear()  # forgetting lets a few extra requests through, nothing worse
            self._buckets[key] = (left - 1, now)
        return True

    def wait(self) -> float | None:
        return self._wait


def forget_throttles() -> None:
    with FlagReadThrottle._lock:
        FlagReadThrottle._buckets.clear()
