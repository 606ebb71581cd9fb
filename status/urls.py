from django.urls import include, path

from status import views
from status.api.urls import service_urlpatterns

urlpatterns = [
    path("", views.portal_page, name="status-page"),
    path("history.atom", views.feed, name="status-feed"),
    path("uptime.json", views.uptime_json, name="status-uptime"),
    path("subscribe", views.subscribe, name="status-subscribe"),
    path("subscriptions/<str:token>/confirm", views.confirm, name="status-confirm"),
    path("subscriptions/<str:token>/unsubscribe", views.unsubscribe, name="status-unsubscribe"),
    path("<slug:slug>/", views.service_page, name="status-service-page"),
    path("<slug:slug>/history.atom", views.feed, name="status-service-feed"),
    path("<slug:slug>/uptime.json", views.uptime_json, name="status-service-uptime"),
    # One service's Statuspage-compatible API: a client given https://portal/status/<slug> as its page URL works.
    path("<slug:slug>/api/v2/", include(service_urlpatterns)),
]
