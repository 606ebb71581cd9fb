from django.urls import path

from governance.api import views

urlpatterns = [
    path("whoami", views.WhoamiApi.as_view(), name="api-whoami"),
    path("audit/export", views.AuditExportApi.as_view(), name="api-audit-export"),
    path("services", views.ServiceListApi.as_view(), name="api-services"),
]
