"""`Authorization: Bearer <token>` authentication against hashed API tokens."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from governance import services


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0] != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send exactly one token: 'Authorization: Bearer <token>'.")
        token = services.authenticate_secret(parts[1])
        if token is None:
            # One message for unknown, expired and revoked: do not tell a guesser which it was.
            raise exceptions.AuthenticationFailed("The token is invalid, expired or revoked.")
        services.touch_token(token)
        return token.owner, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
