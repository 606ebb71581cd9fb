from django.urls import path

from schemaplans.api import views

urlpatterns = [
    path("schema-plans/<str:slug>", views.SchemaPlanDetailApi.as_view(), name="api-schema-plan"),
    path("schema-plans/<str:slug>/transition", views.SchemaPlanTransitionApi.as_view(),
         name="api-schema-plan-transition"),
    path("backfills/<int:pk>", views.BackfillDetailApi.as_view(), name="api-backfill"),
    path("backfills/<int:pk>/pause", views.BackfillPauseApi.as_view(), name="api-backfill-pause"),
    path("backfills/<int:pk>/resume", views.BackfillResumeApi.as_view(), name="api-backfill-resume"),
    path("backfills/<int:pk>/cancel", views.BackfillCancelApi.as_view(), name="api-backfill-cancel"),
]
