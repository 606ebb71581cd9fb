from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from governance import admin_users, health
from observability.metrics import metrics_view

api_v1 = [
    path("", include("governance.api.urls")),
    path("", include("flags.api.urls")),
    path("", include("releases.api.urls")),
    path("", include("schemaplans.api.urls")),
    path("", include("recovery.api.urls")),
    path("", include("observability.api.urls")),
    path("", include("access.api.urls")),
    path("", include("supplychain.api.urls")),
    path("", include("status.api.v1_urls")),
    path("", include("chaos.api.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus text format (loopback or a valid API token)
    path("api/v1/", include(api_v1)),
    path("api/v2/", include("status.api.urls")),  # Statuspage-compatible public read API (no login)
    path("status/", include("status.urls")),  # the public status page (no login)
    path("api/client/", include("flags.api.unleash_urls")),  # Unleash SDKs (base URL <portal>/api)
    path("ofrep/v1/", include("flags.api.ofrep_urls")),  # OpenFeature Remote Evaluation Protocol
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    # Before the admin's own: the same page, through the audited service.
    path(f"{settings.ADMIN_PATH}password_change/", admin.site.admin_view(admin_users.own_password_change)),
    path(settings.ADMIN_PATH, admin.site.urls),
]



handler404 = "governance.views.not_found"
handler500 = "governance.views.server_error"
