"""Scope- and service-aware permissions for token-authenticated API views."""

from __future__ import annotations

from typing import Any, Literal

from django.conf import settings
from rest_framework import exceptions, permissions
from rest_framework.request import Request

from governance.models import ApiToken, Environment, Scope, Service
from governance.reasons import api_reason as api_reason  # re-exported: the policy lives in governance.reasons

# What a view's unsafe methods (POST, PUT, PATCH, DELETE) reach, declared as `write_reach` on the view (or
# {method: reach}): "environment" = one environment the request names and the view checks with
# target_environment/check_token_target; "none" = computes and writes nothing (a POST for its body). Anything
# else, including a view that declares nothing, is "service": a service-wide write, refused to a token restricted
# to environments, which must not reach past them.
WriteReach = Literal["service", "environment", "none"]


class HasTokenScope(permissions.BasePermission):
    """The view's `required_scopes` ({method: scope} or one scope for all methods) must be on the token.

    A view with `required_scopes = None` only needs a valid token (e.g. whoami).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            raise exceptions.NotAuthenticated("Send an API token: 'Authorization: Bearer <token>'.")
        required = getattr(view, "required_scopes", "missing")
        if required == "missing":
            return False  # a view that forgot to declare its scope is closed, not open
        if isinstance(required, dict):
            required = required.get(request.method, required.get("*"))
        if required is not None and required not in token.scopes:
            raise exceptions.PermissionDenied(f"This token lacks the '{required}' scope.")
        if request.method not in permissions.SAFE_METHODS:
            check_write_reach(token, view, request.method or "")
        return True


def check_write_reach(token: ApiToken, view: Any, method: str) -> None:
    """Refuse a service-wide write to a token restricted to environments (403 naming the restriction)."""
    reach = getattr(view, "write_reach", "service")
    if isinstance(reach, dict):
        reach = reach.get(method, "service")
    if reach in ("environment", "none"):
        return
    environments = _restriction(token, "environments")
    if environments:
        slugs = ", ".join(sorted(Environment.objects.filter(pk__in=environments).values_list("slug", flat=True)))
        raise exceptions.PermissionDenied(
            f"This token is restricted to environments ({slugs}); {method} {type(view).__name__} is a service-wide "
            "write, not tied to one environment. Use a token without an environment restriction.",
            code="environment-restricted-token")


def check_portal_flags(request: Request, service: Service) -> None:
    """The portal's own operational flags (maintenance, kill switches, rate multiplier) need the dedicated
    `portal:operate` scope: an ordinary flags:write CI token must not switch the portal off."""
    if service.slug == settings.FLAGS_PORTAL_SERVICE and Scope.PORTAL_OPERATE.value not in request_token(request).scopes:
        raise exceptions.PermissionDenied(
            f"Flags of '{service.slug}' are the portal's own operational switches: the token needs the "
            f"'{Scope.PORTAL_OPERATE.value}' scope (or change them as a person in the admin).",
            code="portal-operate-scope")


def request_token(request: Request) -> ApiToken:
    """The API token that authenticated the request (401 when there is none)."""
    token = request.auth
    if not isinstance(token, ApiToken):
        raise exceptions.NotAuthenticated()
    return token


def target_service(request: Request, slug: str) -> Service:
    """The service a URL or body names, if the token may act on it: 404 when unknown, 403 when restricted."""
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        raise exceptions.NotFound(f"No service '{slug}'.")
    check_token_target(request, service=service)
    return service


def target_environment(request: Request, slug: str) -> Environment:
    """The environment a URL or body names, if the token may act on it (404 lists the known ones)."""
    environment = Environment.objects.filter(slug=slug).first()
    if environment is None:
        known = ", ".join(Environment.objects.values_list("slug", flat=True))
        raise exceptions.NotFound(f"No environment '{slug}' (known: {known}).")
    check_token_target(request, environment=environment)
    return environment


def check_token_target(request: Request, *, service: Service | None = None,
                       environment: Environment | None = None) -> None:
    """Refuse a token restricted to other services or environments (403 with the reason)."""
    token = request_token(request)
    if service is not None:
        allowed = _restriction(token, "services")
        if allowed and service.pk not in allowed:
            raise exceptions.PermissionDenied(f"This token is restricted to other services than '{service.slug}'.")
    if environment is not None:
        allowed = _restriction(token, "environments")
        if allowed and environment.pk not in allowed:
            raise exceptions.PermissionDenied(
                f"This token is restricted to other environments than '{environment.slug}'."
            )


def token_allows(token: ApiToken, *, service_id: int | None, environment_id: int | None) -> bool:
    """Whether check_token_target would let `token` through for these ids (no exception: for fast paths)."""
    services, environments = _restriction(token, "services"), _restriction(token, "environments")
    return (not services or service_id in services) and (not environments or environment_id in environments)


def _restriction(token: ApiToken, relation: str) -> frozenset[int]:
    """The token's allowed ids, computed once per token instance (flag reads keep verified tokens a few
    seconds: this runs on every snapshot poll)."""
    cached = token.__dict__.setdefault("_restrictions", {})
    if relation not in cached:
        cached[relation] = frozenset(item.pk for item in getattr(token, relation).all())
    return cached[relation]


def token_services(request: Request) -> set[int] | None:
    """Service ids the token may act on, or None for all."""
    token = request.auth
    ids = {s.pk for s in token.services.all()} if isinstance(token, ApiToken) else set()
    return ids or None
