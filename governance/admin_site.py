"""The portal's admin site: every POST is atomic, the home is a dashboard of what needs attention, product
sections come first."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import reverse

# The product first, in the order people use it; Django's own and third-party sections (Axes, Django Q) last.
APP_ORDER = ["flags", "releases", "observability", "recovery", "schemaplans", "governance", "auth"]
LAST = ["axes", "django_q"]


SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def _rank(app_label: str) -> tuple[int, int]:
    if app_label in APP_ORDER:
        return 0, APP_ORDER.index(app_label)
    if app_label in LAST:
        return 2, LAST.index(app_label)
    return 1, 0


class PortalAdminSite(admin.AdminSite):
    site_header = "Governance portal"
    site_title = "Governance portal"
    index_title = "Needs attention now"
    index_template = "admin/portal_index.html"

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        """Every view that may write (any method but GET/HEAD/OPTIONS/TRACE) runs in one transaction; a refusal
        (status >= 400) or an error rolls it back, so a refused or failed POST leaves nothing behind. Django makes
        only the add/change/delete views atomic; actions and custom views were not."""
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def atomic_when_writing(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method in SAFE_METHODS:
                return inner(request, *args, **kwargs)
            with transaction.atomic():
                response = inner(request, *args, **kwargs)
                if response.status_code >= 400:
                    transaction.set_rollback(True)
                return response

        return cast(_View, atomic_when_writing)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        # "View site": the portal has no public site (DEBUG would show a 404 at /); the ops console is the page
        # an operator wants next (resolved per request, so ADMIN_PATH is respected).
        context["site_url"] = reverse("admin:flags_ops_index")
        return context

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        return sorted(apps, key=lambda app: _rank(app["app_label"]))

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        from governance import dashboard

        context = {"attention": dashboard.needs_attention(request.user), **(extra_context or {})}
        return super().index(request, extra_context=context)


class PortalAdminConfig(AdminConfig):
    default_site = "governance.admin_site.PortalAdminSite"
