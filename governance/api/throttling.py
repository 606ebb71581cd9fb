"""Per-token throttling on the shared cache (Redis or the database cache, never per-process memory)."""

from __future__ import annotations

from typing import Any

from govctl.django_middleware import FlagScaledThrottleMixin
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from governance.models import ApiToken


class TokenRateThrottle(FlagScaledThrottleMixin, SimpleRateThrottle):
    """Rates are scaled by the portal's own `rate_limit_multiplier` flag (docs/FLAGS.md)."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        ident = f"token-{token.pk}" if isinstance(token, ApiToken) else f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
