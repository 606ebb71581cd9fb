"""The public, Statuspage v2-compatible read API (no login): /api/v2/*.json.

One APIView per document. No authentication, no token throttle: answers are small, read-only and cacheable
(`Cache-Control: public, max-age=30`, a weak ETag, 304 on `If-None-Match`) and carry CORS headers as
Statuspage's do, so widgets on other sites can read them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.models import Service
from status import public

MAX_AGE = 30
# The CORS headers Statuspage's public API answers with: any origin may read (no credentials), GET/HEAD only.
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, If-None-Match", "Access-Control-Expose-Headers": "ETag"}


class PageOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    url = serializers.CharField()
    time_zone = serializers.CharField()
    updated_at = serializers.CharField()


class StatusOutput(serializers.Serializer):
    indicator = serializers.ChoiceField(choices=["none", "minor", "major", "critical", "maintenance"])
    description = serializers.CharField()


class ComponentOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    position = serializers.IntegerField()
    description = serializers.CharField(allow_null=True)
    showcase = serializers.BooleanField()
    start_date = serializers.CharField(allow_null=True)
    group_id = serializers.CharField(allow_null=True)
    page_id = serializers.CharField()
    group = serializers.BooleanField()
    only_show_if_degraded = serializers.BooleanField()
    components = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="Groups only: their components' ids.")


class AffectedComponentOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    old_status = serializers.CharField()
    new_status = serializers.CharField()


class IncidentUpdateOutput(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    body = serializers.CharField()
    incident_id = serializers.CharField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    display_at = serializers.CharField()
    affected_components = AffectedComponentOutput(many=True, allow_null=True)
    deliver_notifications = serializers.BooleanField()
    custom_tweet = serializers.CharField(allow_null=True)
    tweet_id = serializers.CharField(allow_null=True)


class IncidentOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    monitoring_at = serializers.CharField(allow_null=True)
    resolved_at = serializers.CharField(allow_null=True)
    impact = serializers.CharField()
    shortlink = serializers.CharField()
    started_at = serializers.CharField()
    page_id = serializers.CharField()
    incident_updates = IncidentUpdateOutput(many=True)
    components = ComponentOutput(many=True)


class MaintenanceOutput(IncidentOutput):
    scheduled_for = serializers.CharField()
    scheduled_until = serializers.CharField()


class _PublicApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    def build(self, service: Service | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def get(self, request: Request, slug: str | None = None) -> Response:
        service = None
        if slug is not None:
            service = Service.objects.filter(slug=slug).first()
            if service is None:
                raise NotFound("No such service.")  # problem+json like every API error, CORS added below
        body = self.build(service)
        etag = 'W/"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={MAX_AGE}", "Vary": "Accept-Encoding", **CORS}
        if etag in request.headers.get("If-None-Match", ""):
            return Response(status=304, headers=headers)
        return Response(body, headers=headers)

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Every answer, errors included, carries Statuspage's CORS headers (a widget must read a 404 too)."""
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in CORS.items():
            response[name] = value
        return response

    def options(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        """A browser's CORS preflight: allowed from any origin, like Statuspage's public API."""
        return Response(status=204, headers={**CORS, "Access-Control-Max-Age": "86400"})


class StatusSummaryApi(_PublicApi):
    class Output(serializers.Serializer):
        page = PageOutput()
        components = ComponentOutput(many=True)
        incidents = IncidentOutput(many=True)
        scheduled_maintenances = MaintenanceOutput(many=True)
        status = StatusOutput()

    @extend_schema(responses={200: Output}, summary="Statuspage-compatible summary (public)", auth=[])
    def get(self, request: Request, slug: str | None = None) -> Response:
        return super().get(request, slug)

    def build(self, service: Service | None = None) -> dict[str, Any]:
        return public.summary(service)


class StatusIndicatorApi(_PublicApi):
    class Output(serializers.Serializer):
        page = PageOutput()
        status = StatusOutput()

    @extend_schema(responses={200: Output}, summary="Statuspage-compatible overall status (public)", auth=[])
    def get(self, request: Request, slug: str | None = None) -> Response:
        return super().get(request, slug)

    def build(self, service: Service | None = None) -> dict[str, Any]:
        return {"page": public.page(service), "status": public.status(service)}


class StatusComponentsApi(_PublicApi):
    class Output(serializers.Serializer):
        page = PageOutput()
        components = ComponentOutput(many=True)

    @extend_schema(responses={200: Output}, summary="Statuspage-compatible components (public)", auth=[])
    def get(self, request: Request, slug: str | None = None) -> Response:
        return super().get(request, slug)

    def build(self, service: Service | None = None) -> dict[str, Any]:
        return {"page": public.page(service), "components": public.components(service)}


class StatusIncidentsApi(_PublicApi):
    unresolved = False

    class Output(serializers.Serializer):
        page = PageOutput()
        incidents = IncidentOutput(many=True)

    @extend_schema(responses={200: Output}, summary="Statuspage-compatible incidents, 50 most recent (public)",
                   auth=[])
    def get(self, request: Request, slug: str | None = None) -> Response:
        return super().get(request, slug)

    def build(self, service: Service | None = None) -> dict[str, Any]:
        return {"page": public.page(service), "incidents": public.incidents(service, unresolved=self.unresolved)}


class StatusUnresolvedIncidentsApi(StatusIncidentsApi):
    unresolved = True

    class Output(serializers.Serializer):
        page = PageOutput()
        incidents = IncidentOutput(many=True)

    @extend_schema(responses={200: Output}, summary="Statuspage-compatible unresolved incidents (public)", auth=[])
    def get(self, request: Request, slug: str | None = None) -> Response:
        return super().get(request, slug)


class StatusMaintenancesApi(_PublicApi):
    which = "all"

    class Output(serializers.Serializer):
        page = PageOutput()
        scheduled_maintenances = MaintenanceOutput(many=True)

    @extend_schema(responses={200: Output}, summary="Statuspage-compatible scheduled maintenances (public)", auth=[])
    def get(self, request: Request, slug: str | None = None) -> Response:
        return super().get(request, slug)

    def build(self, service: Service | None = None) -> dict[str, Any]:
        return {"page": public.page(service),
                "scheduled_maintenances": public.maintenances(service, which=self.which)}


class StatusUpcomingMaintenancesApi(StatusMaintenancesApi):
    which = "upcoming"

    class Output(serializers.Serializer):
        page = PageOutput()
        scheduled_maintenances = MaintenanceOutput(many=True)

    @extend_schema(responses={200: Output}, summary="Statuspage-compatible upcoming maintenances (public)", auth=[])
    def get(self, request: Request, slug: str | None = None) -> Response:
        return super().get(request, slug)


class StatusActiveMaintenancesApi(StatusMaintenancesApi):
    which = "active"

    class Output(serializers.Serializer):
        page = PageOutput()
        scheduled_maintenances = MaintenanceOutput(many=True)

    @extend_schema(responses={200: Output}, summary="Statuspage-compatible maintenances in progress (public)",
                   auth=[])
    def get(self, request: Request, slug: str | None = None) -> Response:
        return super().get(request, slug)
