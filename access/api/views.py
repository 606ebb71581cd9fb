"""Secrets inventory API: list (audit:read), add and record rotations (secrets:write), never a secret's value;
the latest database access reviews (audit:read)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access import queries, services
from access.models import AccessSnapshot, Secret
from governance.api.permissions import api_reason, check_token_target, target_service, token_services
from governance.models import Scope, Service
from governance.reasons import ReasonSerializerField

# Keys that would carry a value: refused outright, so a pipeline never "stores" a secret here by mistake.
VALUE_KEYS = frozenset({"value", "secret", "secret_value", "password", "token", "key", "plaintext"})


def _check_secret_target(request: Request, service: Service | None) -> None:
    if service is None and token_services(request) is not None:
        raise PermissionDenied("A token restricted to services cannot touch the portal's own secrets.")
    check_token_target(request, service=service)


class _NoValues(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            values = sorted(VALUE_KEYS & set(data))
            if values:
                raise serializers.ValidationError({k: ["The inventory never stores a secret's value: record where it "
                                                       "lives (location), not what it is."] for k in values})
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({k: ["Unknown field."] for k in unknown})
        return super().to_internal_value(data)


class SecretOutput(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField(source="service.slug", allow_null=True, default=None)
    name = serializers.CharField()
    location = serializers.CharField()
    owner = serializers.CharField()
    last_rotated_at = serializers.DateTimeField()
    max_age_days = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    overdue = serializers.SerializerMethodField()
    runbook_url = serializers.CharField()

    def get_overdue(self, secret: Secret) -> bool:
        return secret.is_overdue()


class SecretListApi(APIView):
    required_scopes = {"GET": Scope.AUDIT_READ.value, "POST": Scope.SECRETS_WRITE.value}

    class Input(_NoValues):
        service = serializers.CharField(max_length=63, required=False, allow_null=True, default=None,
                                        help_text="Service slug; empty for a secret of the portal itself.")
        name = serializers.CharField(max_length=200)
        location = serializers.CharField(max_length=500)
        owner = serializers.CharField(max_length=200)
        last_rotated_at = serializers.DateTimeField()
        max_age_days = serializers.IntegerField(min_value=1, max_value=3650)
        runbook_url = serializers.CharField(max_length=500)
        notes = serializers.CharField(required=False, allow_blank=True, default="")
        reason = ReasonSerializerField()

    @extend_schema(responses={200: SecretOutput(many=True)}, summary="The secrets inventory (never values)")
    def get(self, request: Request) -> Response:
        secrets = Secret.objects.select_related("service")
        allowed = token_services(request)
        if allowed is not None:
            secrets = secrets.filter(service_id__in=allowed)
        if request.query_params.get("service"):
            secrets = secrets.filter(service=target_service(request, request.query_params["service"]))
        return Response(SecretOutput(secrets, many=True).data)

    @extend_schema(request=Input, responses={201: SecretOutput}, summary="Add a secret to the inventory")
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        slug = fields.pop("service")
        service = target_service(request, slug) if slug else None
        _check_secret_target(request, service)
        reason = api_reason(request, fields.pop("reason"))
        secret = services.create_secret(service=service, actor=request.user, reason=reason, **fields)
        return Response(SecretOutput(secret).data, status=201)


class SecretRotateApi(APIView):
    required_scopes = Scope.SECRETS_WRITE.value

    class Input(_NoValues):
        reason = ReasonSerializerField()
        rotated_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                               help_text="When the new value went live; default now.")

    @extend_schema(request=Input, responses={201: SecretOutput},
                   summary="Record that a secret was rotated (its deadline starts again)")
    def post(self, request: Request, pk: int) -> Response:
        secret = get_object_or_404(Secret.objects.select_related("service"), pk=pk)
        _check_secret_target(request, secret.service)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.record_rotation(secret=secret, actor=request.user,
                                 reason=api_reason(request, data.validated_data["reason"]),
                                 rotated_at=data.validated_data["rotated_at"])
        secret.refresh_from_db()
        return Response(SecretOutput(secret).data, status=201)


class AccessReviewListApi(APIView):
    """The newest access review of each governed database (read by auditors and pipelines)."""

    required_scopes = Scope.AUDIT_READ.value

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        target = serializers.CharField(source="target.name")
        service = serializers.CharField(source="target.service.slug", allow_null=True, default=None)
        taken_at = serializers.DateTimeField()
        status = serializers.ChoiceField(choices=AccessSnapshot.Status.choices)
        policy_revision = serializers.IntegerField(allow_null=True)
        snapshot_sha256 = serializers.CharField(source="digest")
        drift = serializers.ListField(child=serializers.DictField())
        changes = serializers.ListField(child=serializers.DictField(), help_text="Since the previous review.")
        error = serializers.CharField()

    @extend_schema(responses={200: Output(many=True)}, summary="Latest database access review per target")
    def get(self, request: Request) -> Response:
        latest = queries.latest_snapshots().select_related("target__service")
        allowed = token_services(request)
        if allowed is not None:
            latest = latest.filter(target__service_id__in=allowed)
        if request.query_params.get("target"):
            latest = latest.filter(target__name=request.query_params["target"])
        return Response(self.Output(latest, many=True).data)
