"""Mounted at /api/client/ by governance/urls.py (where Unleash SDKs look, under their base URL /api)."""

from django.urls import path

from flags.api import unleash

urlpatterns = [
    path("features", unleash.UnleashFeaturesApi.as_view(), name="unleash-client-features"),
    path("register", unleash.UnleashRegisterApi.as_view(), name="unleash-client-register"),
    path("metrics", unleash.UnleashMetricsApi.as_view(), name="unleash-client-metrics"),
]
