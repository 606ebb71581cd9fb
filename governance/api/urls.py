from django.urls import path

from governance.api import views

urlpatterns = [
    path("whoami", views.WhoamiApi.as_view(), name="api-whoami"),
    path("audit/export", views.AuditExportApi.as_view(), name="api-audit-export"),
    path("audit/public-key", views.AuditPublicKeyApi.as_view(), name="api-audit-public-key"),
    path("audit/checkpoints/latest", views.AuditCheckpointLatestApi.as_view(), name="api-audit-checkpoint-latest"),
    path("services", views.ServiceListApi.as_view(), name="api-services"),
]
