from django.urls import path

from status import views

urlpatterns = [
    path("", views.portal_page, name="status-page"),
    path("subscribe", views.subscribe, name="status-subscribe"),
    path("subscriptions/<str:token>/confirm", views.confirm, name="status-confirm"),
    path("subscriptions/<str:token>/unsubscribe", views.unsubscribe, name="status-unsubscribe"),
    path("<slug:slug>/", views.service_page, name="status-service-page"),
]
