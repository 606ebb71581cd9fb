from django.urls import path

from status.api import v1

urlpatterns = [
    path("status/incidents/<int:pk>/review.md", v1.IncidentReviewApi.as_view(), name="api-incident-review"),
]
