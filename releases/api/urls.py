from django.urls import path

from releases.api import views

urlpatterns = [
    path("services/<slug:service>/release-plan", views.ReleasePlanApi.as_view(), name="api-release-plan"),
    path("services/<slug:service>/releases/<str:version>", views.ReleaseLookupApi.as_view(),
         name="api-release-lookup"),
    path("releases", views.ReleaseCreateApi.as_view(), name="api-releases"),
    path("releases/<int:pk>", views.ReleaseDetailApi.as_view(), name="api-release"),
    path("releases/<int:pk>/checks", views.CheckReportApi.as_view(), name="api-release-checks"),
    path("releases/<int:pk>/gate", views.ReleaseGateApi.as_view(), name="api-release-gate"),
    path("releases/<int:pk>/summary.md", views.ReleaseSummaryApi.as_view(), name="api-release-summary"),
    path("deployments", views.DeploymentRecordApi.as_view(), name="api-deployments"),
]
