from django.urls import path

from recovery.api import views

urlpatterns = [
    path("drills", views.DrillRunApi.as_view(), name="api-drills"),
    path("drills/<int:pk>", views.DrillDetailApi.as_view(), name="api-drill-detail"),
    path("drills/<int:pk>/report.md", views.DrillReportApi.as_view(), name="api-drill-report"),
]
