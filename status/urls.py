from django.urls import path

from status import views

urlpatterns = [
    path("", views.portal_page, name="status-page"),
    path("<slug:slug>/", views.service_page, name="status-service-page"),
]
