"""Mounted at /ofrep/v1/ by governance/urls.py (the prefix OFREP providers call)."""

from django.urls import path

from flags.api import ofrep

urlpatterns = [
    path("evaluate/flags", ofrep.OfrepBulkEvaluateApi.as_view(), name="ofrep-evaluate-flags"),
    path("evaluate/flags/<path:key>", ofrep.OfrepFlagEvaluateApi.as_view(), name="ofrep-evaluate-flag"),
]
