"""SLO definitions over the API: list a service's SLOs, read one, and change its API-editable options.

Only `exclude_maintenance` changes here (scope `slos:write`); targets, windows and SLIs change in the admin or
by OpenSLO import, where the whole definition is reviewed. A field this endpoint does not change is refused by
name (400), never ignored, so a caller cannot believe it changed an objective. Changes go through
`services.update_slo`, audited with the token's owner and `api (<token name>): <reason>`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.idempotency import idempotent
from governance.api.permissions import api_reason, request_token, target_environment, target_service
from governance.models import Scope
from governance.reasons import ReasonSerializerField
from observability import services
from observability.models import Slo

API_EDITABLE = ("exclude_maintenance",)


class SloDefinitionOutput(serializers.Serializer):
    service = serializers.CharField(source="service.slug")
    environment = serializers.CharField(source="environment.slug")
    name = serializers.CharField()
    display_name = serializers.CharField()
    description = serializers.CharField()
    sli_type = serializers.CharField()
    objective = serializers.DecimalField(max_digits=10, decimal_places=8, help_text="Target share, e.g. 0.999.")
    window_minutes = serializers.IntegerField()
    min_events = serializers.IntegerField()
    threshold_ms = serializers.IntegerField(allow_null=True, help_text="Latency SLOs only.")
    slice_error_threshold = serializers.DecimalField(max_digits=6, decimal_places=5, allow_null=True,
                                                     help_text="Availability SLOs only.")
    source = serializers.CharField(  # type: ignore[assignment]  # DRF pops declared fields off the class
        help_text="points or prometheus")
    enabled = serializers.BooleanField()
    exclude_maintenance = serializers.BooleanField(
        help_text="Declared maintenance windows are left out of the SLI (default false; SLI-point SLOs).")


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only: "yes", 1 or "false" as a string are refused, never guessed at."""

    default_error_messages = {"invalid": "Must be true or false (a JSON boolean), got {input!r}."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class SloChangeInput(serializers.Serializer):
    exclude_maintenance = StrictBooleanField(
        help_text="Leave maintenance windows declared before they began out of the SLO's figures.")
    reason = ReasonSerializerField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError(
                {name: f"Not changeable through the API (only {', '.join(API_EDITABLE)}); use the admin or an "
                       "OpenSLO import." for name in unknown})
        return attrs


def _slos(service_id: int) -> Any:
    return Slo.objects.select_related("service", "environment").filter(service_id=service_id)


class SloListApi(APIView):
    """The SLO definitions of a service (every environment the token may see, or one)."""

    required_scopes = None  # any valid token, like /slo/status: definitions hold no secrets

    class Input(serializers.Serializer):
        service = serializers.SlugField(max_length=63)
        environment = serializers.SlugField(max_length=63, required=False,
                                            help_text="Left out: every environment the token may see.")

    class Output(serializers.Serializer):
        service = serializers.CharField()
        slos = SloDefinitionOutput(many=True)

    @extend_schema(parameters=[Input], responses={200: Output}, summary="A service's SLO definitions",
                   operation_id="api_v1_slos_list")
    def get(self, request: Request) -> Response:
        data = self.Input(data=request.query_params)
        data.is_valid(raise_exception=True)
        service = target_service(request, data.validated_data["service"])
        slos = _slos(service.pk)
        if "environment" in data.validated_data:
            slos = slos.filter(environment=target_environment(request, data.validated_data["environment"]))
        else:
            allowed = list(request_token(request).environments.values_list("pk", flat=True))
            slos = slos.filter(environment_id__in=allowed) if allowed else slos
        return Response(self.Output({"service": service.slug, "slos": slos}).data)


class SloDetailApi(APIView):
    """One SLO definition; PATCH changes its API-editable options."""

    required_scopes = {"GET": None, "PATCH": Scope.SLOS_WRITE.value}
    write_reach = "environment"  # one SLO of one environment, checked against the token

    def _slo(self, request: Request, service: str, environment: str, name: str) -> Slo:
        target = target_service(request, service)
        env = target_environment(request, environment)
        slo = _slos(target.pk).filter(environment=env, name=name).first()
        if slo is None:
            raise exceptions.NotFound(f"{target.slug} has no SLO '{name}' in {env.slug}.")
        return slo

    @extend_schema(responses={200: SloDefinitionOutput}, summary="One SLO definition")
    def get(self, request: Request, service: str, environment: str, name: str) -> Response:
        return Response(SloDefinitionOutput(self._slo(request, service, environment, name)).data)

    @extend_schema(
        request=SloChangeInput,
        responses={200: OpenApiResponse(SloDefinitionOutput, description="The definition now."),
                   400: OpenApiResponse(description="Invalid value or a field not changeable here (named)."),
                   403: OpenApiResponse(description="The token lacks slos:write or is restricted to other targets."),
                   404: OpenApiResponse(description="Unknown service, environment or SLO.")},
        summary="Change an SLO's exclude_maintenance (audited with the reason)",
    )
    @idempotent
    def patch(self, request: Request, service: str, environment: str, name: str) -> Response:
        data = SloChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        slo = self._slo(request, service, environment, name)
        values = data.validated_data
        slo = services.update_slo(slo=slo, actor=request.user, reason=api_reason(request, values["reason"]),
                                  **{field: values[field] for field in API_EDITABLE})
        return Response(SloDefinitionOutput(slo).data)
