from django.urls import path

from chaos.api import views

urlpatterns = [
    path("chaos/experiments/", views.ExperimentsApi.as_view(), name="api-chaos-experiments"),
    path("chaos/experiments/<slug:service>/<slug:key>/export", views.ExperimentExportApi.as_view(),
         name="api-chaos-experiment-export"),
    path("chaos/runs/", views.RunStartApi.as_view(), name="api-chaos-runs"),
    path("chaos/runs/<int:pk>/", views.RunDetailApi.as_view(), name="api-chaos-run"),
    path("chaos/faults/", views.FaultsApi.as_view(), name="api-chaos-faults"),
    path("chaos/faults/<int:pk>/", views.FaultRemoveApi.as_view(), name="api-chaos-fault"),
    path("chaos/halt", views.ChaosHaltApi.as_view(), name="api-chaos-halt"),
]
