"""Core API: whoami, services, the audit export, its public keys and checkpoints."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import audit_exports, services
from governance.api.idempotency import idempotent
from governance.api.permissions import api_reason, request_token, target_service, token_services
from governance.models import ApiToken, AuditCheckpoint, Scope, Source
from governance.reasons import ReasonSerializerField


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
        actor = serializers.CharField(required=False, max_length=150)
        model = serializers.CharField(required=False, max_length=100, help_text="app_label.model")
        service = serializers.SlugField(required=False, max_length=63)
        environment = serializers.SlugField(required=False, max_length=63)
        source = serializers.ChoiceField(required=False, choices=Source.choices)  # type: ignore[assignment]  # a field named like Field.source: DRF collects it as a declared field

    @extend_schema(
        parameters=[Input],
        responses={(200, "application/x-ndjson"): str},
        summary="Export the audit trail as hash-chained JSON Lines closed by a signed trailer",
        description="A token restricted to services exports only those services' events. Verify offline "
        "with `govctl audit verify` (docs/AUDIT.md).",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        data = self.Input(data=request.query_params)
        data.is_valid(raise_exception=True)
        token = request_token(request)
        restricted = list(token.services.all())
        if data.validated_data.get("service") and restricted:
            target_service(request, data.validated_data["service"])  # 403 for a service outside the token's
        filters = audit_exports.build_filters(restricted_to=restricted, **data.validated_data)
        return audit_exports.export_response(actor=request.user, filters=filters)


class AuditPublicKeyApi(APIView):
    required_scopes = None  # any valid token: public keys only

    class Output(serializers.Serializer):
        class Key(serializers.Serializer):
            key_id = serializers.CharField()
            public_key = serializers.CharField(help_text="base64 of the raw 32-byte Ed25519 public key")
            algorithm = serializers.CharField()
            status = serializers.ChoiceField(choices=["current", "retired"])
            first_used_at = serializers.CharField(allow_null=True)

        keys = Key(many=True)

    @extend_schema(responses=Output, summary="Public keys that verify audit exports (current and retired)",
                   description="Save the answer as a file for `govctl audit verify --public-key FILE`.")
    def get(self, request: Request) -> Response:
        return Response(self.Output({"keys": audit_exports.published_keys()}).data)


class AuditCheckpointLatestApi(APIView):
    required_scopes = Scope.AUDIT_READ.value

    @extend_schema(responses={200: dict}, summary="The latest signed checkpoint of the audit chain",
                   description="For `govctl audit verify FILE --checkpoint CHECKPOINT.json`. 404 before the "
                   "first checkpoint; 403 for a token restricted to services (it covers every service).")
    def get(self, request: Request) -> Response:
        if token_services(request) is not None:
            raise PermissionDenied("A checkpoint covers every service: a token restricted to services cannot read it.")
        checkpoint = AuditCheckpoint.objects.order_by("-covers_until").first()
        if checkpoint is None:
            raise NotFound("No checkpoint yet: the schedule 'core: audit checkpoint' records one every hour.")
        response = Response(checkpoint.document)
        response["Cache-Control"] = "no-store"
        return response


class ServiceListApi(APIView):
    required_scopes = {"GET": None, "POST": Scope.RELEASES_WRITE.value}

    class Input(serializers.Serializer):
        slug = serializers.SlugField(max_length=63)
        name = serializers.CharField(max_length=200)
        repository_url = serializers.URLField(required=False, allow_blank=True)
        owners = serializers.CharField(max_length=300, required=False, allow_blank=True)
        reason = ReasonSerializerField()

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
        service = services.create_service(actor=request.user, reason=api_reason(request, reason), **fields)
        return Response(self.Output(service).data, status=201)
