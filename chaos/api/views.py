"""Chaos drills API (scopes chaos:read / chaos:run): experiments, runs, faults, halt all (docs/CHAOS.md)."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chaos import ctk, queries, services
from chaos.models import Experiment, Fault, FaultKind, Run
from flags.api.auth import FlagReadThrottle, FlagTokenAuthentication
from governance.api.idempotency import idempotent
from governance.api.permissions import api_reason, check_token_target, target_environment, target_service
from governance.models import Scope
from governance.reasons import ReasonSerializerField

READ, RUN = Scope.CHAOS_READ.value, Scope.CHAOS_RUN.value


class ExperimentsApi(APIView):
    required_scopes = {"GET": READ, "POST": RUN}

    class Input(serializers.Serializer):
        service = serializers.CharField(max_length=63)
        key = serializers.SlugField(max_length=63)
        definition = serializers.JSONField(help_text="Chaos Toolkit experiment JSON.")
        reason = ReasonSerializerField()

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        key = serializers.CharField()
        service = serializers.CharField(source="service.slug")
        title = serializers.CharField()
        version = serializers.IntegerField()

    @extend_schema(parameters=[OpenApiParameter("service", str)], responses=Output(many=True),
                   summary="Experiments (of one service)")
    def get(self, request: Request) -> Response:
        experiments = Experiment.objects.select_related("service").order_by("service__slug", "key")
        slug = request.query_params.get("service")
        if slug:
            experiments = experiments.filter(service=target_service(request, slug[:63]))
        return Response(self.Output(experiments, many=True).data)

    @extend_schema(request=Input, responses={201: Output}, summary="Create an experiment or store a new version")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        experiment = services.save_experiment(service=target_service(request, params["service"]), key=params["key"],
                                              definition=params["definition"], actor=request.user,
                                              reason=api_reason(request, params["reason"]))
        return Response(self.Output(experiment).data, status=201)


class ExperimentExportApi(APIView):
    required_scopes = READ

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="The experiment as Chaos Toolkit JSON (chaos run)")
    def get(self, request: Request, service: str, key: str) -> Response:
        experiment = get_object_or_404(Experiment, service=target_service(request, service), key=key)
        return Response(ctk.export_experiment(experiment.definition,
                                              portal_url=request.build_absolute_uri("/").rstrip("/")))


def _run_url(request: Request, run: Run) -> str:
    return request.build_absolute_uri(reverse("api-chaos-run", args=[run.pk]))


class RunStartApi(APIView):
    required_scopes = RUN
    write_reach = "environment"

    class Input(serializers.Serializer):
        service = serializers.CharField(max_length=63)
        experiment = serializers.SlugField(max_length=63, help_text="The experiment's key.")
        environment = serializers.CharField(max_length=63)
        reason = ReasonSerializerField()

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.CharField()
        url = serializers.URLField()

    @extend_schema(request=Input, responses={202: Output},
                   summary="Start a drill (production: queued once a second person approves it); poll url")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        service = target_service(request, params["service"])
        environment = target_environment(request, params["environment"])
        experiment = Experiment.objects.filter(service=service, key=params["experiment"]).first()
        if experiment is None:
            from django.core.exceptions import ValidationError

            raise ValidationError({"experiment": f"No experiment '{params['experiment']}' for '{service.slug}'."})
        run = services.request_run(experiment=experiment, environment=environment, actor=request.user,
                                   reason=api_reason(request, params["reason"]))
        url = _run_url(request, run)
        return Response({"id": run.pk, "status": run.status, "url": url}, status=202, headers={"Location": url})


class RunDetailApi(APIView):
    required_scopes = READ

    class Output(serializers.Serializer):
        class Phase(serializers.Serializer):
            class Probe(serializers.Serializer):
                name = serializers.CharField(allow_null=True)
                value = serializers.JSONField(allow_null=True)
                tolerance = serializers.JSONField(allow_null=True)
                ok = serializers.BooleanField()

            name = serializers.CharField()
            status = serializers.CharField()
            started_at = serializers.CharField(allow_null=True)
            ended_at = serializers.CharField(allow_null=True)
            probes = Probe(many=True)

        id = serializers.IntegerField()
        service = serializers.CharField(source="service.slug")
        experiment = serializers.CharField(source="experiment.key")
        environment = serializers.CharField(source="environment.slug")
        status = serializers.CharField()
        verdict = serializers.CharField()
        phases = Phase(many=True)
        report_markdown = serializers.CharField()

    @extend_schema(responses=Output, summary="A drill's status, verdict, phases and report")
    def get(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(Run.objects.select_related("service", "environment", "experiment"), pk=pk)
        check_token_target(request, service=run.service, environment=run.environment)
        return Response(self.Output(run).data)


class FaultOutput(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField(source="service.slug")
    environment = serializers.CharField(source="environment.slug")
    kind = serializers.CharField()
    params = serializers.JSONField()
    scope = serializers.JSONField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    run = serializers.IntegerField(source="run_id", allow_null=True)
    reason = serializers.CharField()
    removed_at = serializers.DateTimeField(allow_null=True)


class FaultsApi(APIView):
    required_scopes = {"GET": READ, "POST": RUN}
    write_reach = "environment"

    class Input(serializers.Serializer):
        service = serializers.CharField(max_length=63)
        environment = serializers.CharField(max_length=63)
        kind = serializers.ChoiceField(choices=FaultKind.choices)
        params = serializers.DictField(required=False, default=dict)
        scope = serializers.DictField(required=False, default=dict)
        ttl_seconds = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
        reason = ReasonSerializerField()

    class Created(serializers.Serializer):
        id = serializers.IntegerField()
        expires_at = serializers.DateTimeField()

    @extend_schema(parameters=[OpenApiParameter("service", str), OpenApiParameter("environment", str)],
                   responses=FaultOutput(many=True), summary="Faults in force")
    def get(self, request: Request) -> Response:
        service = request.query_params.get("service")
        environment = request.query_params.get("environment")
        faults = queries.active_faults(service=target_service(request, service[:63]) if service else None,
                                       environment=target_environment(request, environment[:63]) if environment
                                       else None)
        return Response(FaultOutput(faults, many=True).data)

    @extend_schema(request=Input, responses={201: Created}, summary="Inject a fault (bounded by TTL and share)")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        fault = services.create_fault(
            service=target_service(request, params["service"]),
            environment=target_environment(request, params["environment"]), kind=params["kind"],
            params=params["params"], scope=params["scope"], ttl_seconds=params["ttl_seconds"], actor=request.user,
            reason=api_reason(request, params["reason"]))
        return Response(self.Created(fault).data, status=201)


class FaultRemoveApi(APIView):
    required_scopes = RUN
    write_reach = "environment"

    class Input(serializers.Serializer):
        reason = ReasonSerializerField()

    @extend_schema(request=Input, parameters=[OpenApiParameter("reason", str)], responses=FaultOutput,
                   summary="Remove a fault now")
    def delete(self, request: Request, pk: int) -> Response:
        given: Any = request.data if isinstance(request.data, dict) and request.data else request.query_params
        data = self.Input(data={"reason": given.get("reason")} if given.get("reason") is not None else {})
        data.is_valid(raise_exception=True)
        fault = get_object_or_404(Fault.objects.select_related("service", "environment"), pk=pk)
        check_token_target(request, service=fault.service, environment=fault.environment)
        fault = services.remove_fault(fault=fault, actor=request.user,
                                      reason=api_reason(request, data.validated_data["reason"]))
        return Response(FaultOutput(fault).data)


class ChaosHaltApi(APIView):
    """Halt all chaos. Token checks are the flag plane's (cached), so this answers with the database down:
    then the halt goes through the break-glass file (every process stops serving faults at once)."""

    authentication_classes = [FlagTokenAuthentication]
    throttle_classes = [FlagReadThrottle]
    renderer_classes = [JSONRenderer]
    required_scopes = RUN

    class Input(serializers.Serializer):
        reason = ReasonSerializerField()

    class Output(serializers.Serializer):
        removed = serializers.IntegerField()
        faults = serializers.ListField(child=serializers.CharField())
        break_glass = serializers.BooleanField(help_text="The database was down: the halt holds through the "
                                                         "break-glass file and is recorded when it is back.")

    @extend_schema(request=Input, responses=Output, summary="Halt all chaos: remove every active fault everywhere")
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        reason = api_reason(request, data.validated_data["reason"])
        try:
            removed = services.halt_all(actor=request.user, reason=reason)
        except (OperationalError, InterfaceError):
            services.halt_all_break_glass(reason=reason, operator=f"api:{getattr(request.auth, 'name', '?')}",
                                          actor_username=request.user.get_username())
            return Response({"removed": 0, "faults": [], "break_glass": True})
        return Response({"removed": len(removed), "faults": [str(f.pk) for f in removed], "break_glass": False})
