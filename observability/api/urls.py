from django.urls import path

from observability.api import views

urlpatterns = [
    path("sli", views.SliIngestApi.as_view(), name="api-sli"),
    path("slo/status", views.SloStatusApi.as_view(), name="api-slo-status"),
]
