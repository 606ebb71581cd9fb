"""An Unleash-compatible client API, so official Unleash SDKs can read the portal's flags.

`GET /api/client/features` answers the same signed snapshot as /api/v1/flags/snapshot (Unleash
SDKs ignore the extra fields), with its ETag. Registration and metrics are accepted and dropped.
Unleash SDKs send the token bare in `Authorization` (no "Bearer"); both forms work. The service
comes from X-Governance-Service, else a token restricted to one service, else the SDK's
`UNLEASH-APPNAME`; the environment from X-Governance-Environment, else a token restricted to one.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from flags.api import common
from flags.api.views import FlagDeliveryApi


class UnleashFeaturesApi(FlagDeliveryApi):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, 304: OpenApiResponse(description="Not modified")},
                   summary="Unleash client API: feature definitions", operation_id="unleash_client_features")
    def get(self, request: Request) -> HttpResponse:
        service, environment = common.target_from(request, fallback_service=request.headers.get("UNLEASH-APPNAME"))
        snapshot = common.snapshot_for(request, service, environment)
        return common.conditional(request, snapshot.content, snapshot.etag, headers=common.source_headers(snapshot, "unleash"))


class UnleashRegisterApi(FlagDeliveryApi):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: None},
                   summary="Unleash client API: SDK registration (accepted, not stored)",
                   operation_id="unleash_client_register")
    def post(self, request: Request) -> Response:
        return Response(status=202)


class UnleashMetricsApi(FlagDeliveryApi):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: None},
                   summary="Unleash client API: usage metrics (accepted, not stored)",
                   operation_id="unleash_client_metrics")
    def post(self, request: Request) -> Response:
        return Response(status=202)
