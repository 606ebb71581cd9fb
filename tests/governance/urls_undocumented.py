"""The portal's URLconf plus two routes the OpenAPI schema does not document (see test_api_robustness)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.urls import urlpatterns as portal


class UndocumentedApi(APIView):
    required_scopes = None

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        return Response(status=204)


def plain_django(request: HttpRequest) -> HttpResponse:
    return HttpResponse("not DRF")


urlpatterns = [
    path("api/v1/undocumented", UndocumentedApi.as_view()),
    path("api/v1/plain-django", plain_django),
    *portal,
]
