"""OpenAPI: flag delivery authenticates with the same API tokens (Bearer, or bare for Unleash SDKs)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class FlagTokenScheme(OpenApiAuthenticationExtension):
    target_class = "flags.api.auth.FlagTokenAuthentication"
    name = "flagToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "An API token created in the admin."}
