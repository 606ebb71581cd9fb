from typing import Any

from django.urls import path

from status.api import views

ROUTES: list[tuple[str, Any]] = [
    ("summary.json", views.StatusSummaryApi),
    ("status.json", views.StatusIndicatorApi),
    ("components.json", views.StatusComponentsApi),
    ("incidents.json", views.StatusIncidentsApi),
    ("incidents/unresolved.json", views.StatusUnresolvedIncidentsApi),
    ("scheduled-maintenances.json", views.StatusMaintenancesApi),
    ("scheduled-maintenances/upcoming.json", views.StatusUpcomingMaintenancesApi),
    ("scheduled-maintenances/active.json", views.StatusActiveMaintenancesApi),
]

urlpatterns = [path(route, view.as_view()) for route, view in ROUTES]

# One service's copy under /status/<slug>/api/v2/ (status/urls.py): the same documents, left out of the OpenAPI
# schema (it documents the portal-wide ones; docs/STATUS.md says the per-service paths mirror them).
service_urlpatterns = [path(route, type(f"Service{view.__name__}", (view,), {"schema": None}).as_view())
                       for route, view in ROUTES]
