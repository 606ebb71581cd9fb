from django.urls import path

from access.api import views

urlpatterns = [
    path("secrets", views.SecretListApi.as_view(), name="api-secrets"),
    path("secrets/<int:pk>/rotations", views.SecretRotateApi.as_view(), name="api-secret-rotate"),
    path("access-reviews", views.AccessReviewListApi.as_view(), name="api-access-reviews"),
]
