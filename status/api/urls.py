from django.urls import path

from status.api import views

urlpatterns = [
    path("summary.json", views.StatusSummaryApi.as_view()),
    path("status.json", views.StatusIndicatorApi.as_view()),
    path("components.json", views.StatusComponentsApi.as_view()),
    path("incidents.json", views.StatusIncidentsApi.as_view()),
    path("incidents/unresolved.json", views.StatusUnresolvedIncidentsApi.as_view()),
    path("scheduled-maintenances.json", views.StatusMaintenancesApi.as_view()),
    path("scheduled-maintenances/upcoming.json", views.StatusUpcomingMaintenancesApi.as_view()),
    path("scheduled-maintenances/active.json", views.StatusActiveMaintenancesApi.as_view()),
]
