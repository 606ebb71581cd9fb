from django.urls import path

from observability.api import slos, views

urlpatterns = [
    path("sli", views.SliIngestApi.as_view(), name="api-sli"),
    path("slo/status", views.SloStatusApi.as_view(), name="api-slo-status"),
    path("slos", slos.SloListApi.as_view(), name="api-slos"),
    path("slos/<slug:service>/<slug:environment>/<slug:name>", slos.SloDetailApi.as_view(), name="api-slo"),
]
