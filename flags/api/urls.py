from django.urls import path

from flags.api import views, writes

urlpatterns = [
    path("flags/snapshot", views.snapshot_view(), name="api-flags-snapshot"),
    path("flags/evaluate", views.FlagEvaluateApi.as_view(), name="api-flags-evaluate"),
    path("flags/heartbeat", views.FlagHeartbeatApi.as_view(), name="api-flags-heartbeat"),
    # changing flags (flags/api/writes.py): incident tooling and CI, through the admin's services
    path("flags", writes.FlagListApi.as_view(), name="api-flags"),
    path("flags/change-requests/<int:pk>", writes.ChangeRequestDetailApi.as_view(), name="api-flags-change-request"),
    path("flags/<slug:service>/<slug:environment>/<str:key>/changes", writes.FlagChangeApi.as_view(),
         name="api-flags-change"),
]
