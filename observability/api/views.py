"""SLI ingest: POST /api/v1/sli."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.idempotency import idempotent
from governance.api.permissions import check_token_target, target_environment, target_service
from governance.models import Environment, Scope, Service
from observability import services, sli


class _PointsField(serializers.ListField):
    """Validated by `sli.parse_points` in one plain pass: a nested serializer per point is far too slow for
    10,000-point batches. The child serializer documents the shape in the OpenAPI schema."""

    def to_internal_value(self, data: Any) -> list[sli.Point]:
        try:
            return sli.parse_points(data)
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"points": exc.messages}
            # Flatten {"points[3].total": [...]} to messages that stay readable inside the "points" key.
            raise serializers.ValidationError([f"{k}: {v[0]}" if k != "points" else v[0]
                                               for k, v in detail.items()]) from None


class SliPointInput(serializers.Serializer):
    """One minute of SLI aggregates (the OpenAPI shape; validated by sli.parse_points)."""

    minute = serializers.DateTimeField(help_text="Start of the minute, seconds = 0, with a time zone.")
    total = serializers.IntegerField(min_value=0, help_text="Requests served in the minute.")
    errors = serializers.IntegerField(  # type: ignore[assignment]  # DRF pops declared fields off the class
        min_value=0, required=False, help_text="Failed requests (5xx); <= total.")
    latency_buckets = serializers.DictField(
        child=serializers.IntegerField(min_value=0), required=False,
        help_text="Cumulative Prometheus-style `le` buckets: {upper bound in ms: requests at or under it}. "
                  "Counts never decrease with the bound and never exceed total.")
    db_queries = serializers.IntegerField(min_value=0, required=False)
    db_errors = serializers.IntegerField(min_value=0, required=False, help_text="<= db_queries.")


class SliIngestApi(APIView):
    """Per-minute SLI aggregates; a minute already stored for the same source is replaced (never added to)."""

    required_scopes = Scope.SLI_WRITE.value
    write_reach = "environment"  # one environment per request, checked against the token

    class Input(serializers.Serializer):
        service = serializers.SlugField(max_length=63)
        environment = serializers.SlugField(max_length=63)
        source = serializers.CharField(  # type: ignore[assignment]  # DRF pops declared fields off the class
            max_length=100, required=False, default="default",
            help_text="Who measured (e.g. 'gateway', 'lb-eu-1'). Points are stored per source and minute.")
        points = _PointsField(child=SliPointInput(), help_text=f"1 to {sli.MAX_POINTS_PER_REQUEST:,} points.")

    class Output(serializers.Serializer):
        accepted = serializers.IntegerField()
        created = serializers.IntegerField(help_text="Minutes stored for the first time.")
        replaced = serializers.IntegerField(help_text="Minutes that replaced a stored point of the same source.")

    @extend_schema(
        request=Input, responses={200: Output}, summary="Push per-minute SLI points (idempotent per minute)",
        description="Up to 10,000 points per request. Each (service, environment, source, minute) is stored once: "
                    "sending a minute again replaces its counts, so retries never count twice. Send running totals "
                    "for the minute in progress; the last push wins.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        service = Service.objects.filter(slug=values["service"]).first()
        environment = Environment.objects.filter(slug=values["environment"]).first()
        errors = {}
        if service is None:
            errors["service"] = f"No service '{values['service']}'."
        if environment is None:
            errors["environment"] = f"No environment '{values['environment']}'."
        if service is None or environment is None:
            raise DjangoValidationError(errors)
        check_token_target(request, service=service, environment=environment)
        result = services.ingest_sli_points(service=service, environment=environment, source=values["source"],
                                            points=values["points"])
        return Response(self.Output({"accepted": len(values["points"]), "created": result.created,
                                     "replaced": result.replaced}).data)


class SloStatusApi(APIView):
    """The enabled SLOs of a service in an environment, with their error budgets now (`govctl slo check`)."""

    required_scopes = None  # any valid token (figures, no secrets); a token restricted to services sees only theirs

    class Input(serializers.Serializer):
        service = serializers.SlugField(max_length=63)
        environment = serializers.SlugField(max_length=63, required=False, default="production")

    class Output(serializers.Serializer):
        service = serializers.CharField()
        environment = serializers.CharField()
        breached = serializers.ListField(child=serializers.CharField(),
                                         help_text="SLOs whose error budget is spent (judged on enough data).")
        slos = serializers.ListField(child=serializers.DictField(), help_text="Each SLO's figures and verdict.")

    @extend_schema(parameters=[Input], responses={200: Output}, summary="SLOs and error budgets of a service")
    def get(self, request: Request) -> Response:
        from observability import queries

        data = self.Input(data=request.query_params)
        data.is_valid(raise_exception=True)
        service = target_service(request, data.validated_data["service"])
        environment = target_environment(request, data.validated_data["environment"])
        slos = queries.slos_for_check().filter(service_id=service.pk, environment_id=environment.pk)
        statuses = queries.slo_statuses(slos)
        return Response({"service": service.slug, "environment": environment.slug,
                         "breached": [s.slo.name for s in statuses if s.exhausted],
                         "slos": [s.figures() for s in statuses]})
