"""Core API: whoami and the audit export."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import IntegrityError
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import services
from governance.api.errors import Conflict
from governance.api.idempotency import idempotent
from governance.api.permissions import api_reason, request_token, token_services
from governance.models import ApiToken, Scope, Service


class WhoamiApi(APIView):
    required_scopes = None  # any valid token

    class Output(serializers.Serializer):
        name = serializers.CharField()
        prefix = serializers.CharField()
        owner = serializers.CharField(source="owner.username")
        scopes = serializers.ListField(child=serializers.CharField())
        services = serializers.SerializerMethodField(help_text="Empty: every service.")
        environments = serializers.SerializerMethodField(help_text="Empty: every environment.")
        expires_at = serializers.DateTimeField()
        rotated = serializers.SerializerMethodField()

        def get_rotated(self, token: ApiToken) -> bool:
            return token.rotated_to_id is not None

        def get_services(self, token: ApiToken) -> list[str]:
            return [s.slug for s in token.services.all()]

        def get_environments(self, token: ApiToken) -> list[str]:
            return [e.slug for e in token.environments.all()]

    @extend_schema(responses=Output, summary="The token the portal sees")
    def get(self, request: Request) -> Response:
        return Response(self.Output(request.auth).data)


class AuditExportApi(APIView):
    required_scopes = Scope.AUDIT_READ.value

    class Input(serializers.Serializer):
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)

    @extend_schema(
        parameters=[OpenApiParameter("since", str), OpenApiParameter("until", str)],
        responses={(200, "application/x-ndjson"): str},
        summary="Export the audit trail as hash-chained JSON Lines",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        data = self.Input(data=request.query_params)
        data.is_valid(raise_exception=True)
        lines = services.export_audit(actor=request.user, **data.validated_data)
        first = next(lines, None)  # run validation before the response starts streaming

        def stream() -> Iterator[str]:
            if first is not None:
                yield first
            yield from lines

        response = StreamingHttpResponse(stream(), content_type="application/x-ndjson")
        response["Content-Disposition"] = 'attachment; filename="audit.jsonl"'
        return response


class ServiceListApi(APIView):
    required_scopes = {"GET": None, "POST": Scope.RELEASES_WRITE.value}

    class Input(serializers.Serializer):
        slug = serializers.SlugField(max_length=63)
        name = serializers.CharField(max_length=200)
        repository_url = serializers.URLField(required=False, allow_blank=True)
        owners = serializers.CharField(max_length=300, required=False, allow_blank=True)
        reason = serializers.CharField(max_length=1000)

    class Output(serializers.Serializer):
        slug = serializers.SlugField()
        name = serializers.CharField()
        repository_url = serializers.CharField()
        owners = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(responses=Output(many=True), summary="Services this token may see")
    def get(self, request: Request) -> Response:
        from governance import queries

        return Response(self.Output(queries.services_for_token(request_token(request)), many=True).data)

    @extend_schema(request=Input, responses={201: Output}, summary="Register a service (idempotent with a key)")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        if token_services(request) is not None:
            raise PermissionDenied("A token restricted to services cannot register new ones.")
        fields = dict(data.validated_data)
        reason = fields.pop("reason")
        if Service.objects.filter(slug=fields["slug"]).exists():
            raise Conflict(f"Service '{fields['slug']}' already exists.")
        try:
            service = services.create_service(actor=request.user, reason=api_reason(request, reason), **fields)
        except IntegrityError:  # registered concurrently between the check above and the insert
            raise Conflict(f"Service '{fields['slug']}' already exists.") from None
        return Response(self.Output(service).data, status=201)
