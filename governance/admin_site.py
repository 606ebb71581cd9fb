"""The portal's admin site: the home is a dashboard of what needs attention; product sections come first."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse

# The product first, in the order people use it; Django's own and third-party sections (Axes, Django Q) last.
APP_ORDER = ["flags", "releases", "observability", "recovery", "schemaplans", "governance", "auth"]
LAST = ["axes", "django_q"]


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
