from django.urls import path

from flags.api import views

urlpatterns = [
    path("flags/snapshot", views.snapshot_view(), name="api-flags-snapshot"),
    path("flags/evaluate", views.FlagEvaluateApi.as_view(), name="api-flags-evaluate"),
    path("flags/heartbeat", views.FlagHeartbeatApi.as_view(), name="api-flags-heartbeat"),
]
