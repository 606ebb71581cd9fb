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
from typing import Any

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.db import InterfaceError, OperationalError
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from governance import services as core
from governance.api.throttling import TokenRateThrottle
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


def _verify(secret: str) -> ApiToken | None:
    digest = core.digest_secret(secret)
    held = _tokens.get(digest)
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
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        parts = header.split()
        if len(parts) == 2 and parts[0] == self.keyword:
            secret = parts[1]
        elif len(parts) == 1 and parts[0].startswith(core.TOKEN_PREFIX):
            secret = parts[0]  # Unleash SDKs: the token without a scheme
        elif not header and request.headers.get("X-API-Key"):
            secret = request.headers["X-API-Key"].strip()
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


class FlagReadThrottle(TokenRateThrottle):
    scope = "flags"
    cache = LocMemCache("flags-throttle", {"OPTIONS": {"MAX_ENTRIES": 10_000}})
