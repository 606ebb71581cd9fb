"""Drills API for CI and operators (scope drills:run): start a drill, poll it, read its report."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.idempotency import idempotent
from governance.api.permissions import api_reason, check_token_target, token_services
from governance.api.renderers import MarkdownRenderer
from governance.models import Scope
from governance.reasons import ReasonSerializerField
from recovery import services
from recovery.models import BackupTarget, Drill


def _check_target(request: Request, target: BackupTarget) -> None:
    if target.service is None and token_services(request) is not None:
        raise PermissionDenied("A token restricted to services cannot drill the portal's own database.")
    check_token_target(request, service=target.service)


def _links(request: Request, drill: Drill) -> dict[str, str]:
    return {
        "status_url": request.build_absolute_uri(reverse("api-drill-detail", args=[drill.pk])),
        "report_url": request.build_absolute_uri(reverse("api-drill-report", args=[drill.pk])),
    }


class DrillRunApi(APIView):
    required_scopes = Scope.DRILLS_RUN.value

    class Input(serializers.Serializer):
        target = serializers.CharField(max_length=63, help_text="Backup target name.")
        kind = serializers.ChoiceField(choices=Drill.Kind.choices, default=Drill.Kind.RESTORE)
        reason = ReasonSerializerField()

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        target = serializers.CharField(source="target.name")
        status = serializers.CharField()
        status_url = serializers.URLField()
        report_url = serializers.URLField()

    @extend_schema(request=Input, responses={202: Output},
                   summary="Start a restore or PITR drill (idempotent with a key); poll status_url")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        target = BackupTarget.objects.select_related("service").filter(name=data.validated_data["target"]).first()
        if target is None:
            raise ValidationError({"target": f"Unknown backup target '{data.validated_data['target']}'."})
        _check_target(request, target)
        drill = services.request_drill(target=target, kind=data.validated_data["kind"], actor=request.user,
                                       reason=api_reason(request, data.validated_data["reason"]))
        links = _links(request, drill)
        body = self.Output({"id": drill.pk, "kind": drill.kind, "target": target, "status": drill.status,
                            **links}).data
        return Response(body, status=202, headers={"Location": links["status_url"]})


class DrillDetailApi(APIView):
    required_scopes = Scope.DRILLS_RUN.value

    class Output(serializers.Serializer):
        class Verdict(serializers.Serializer):
            layer = serializers.CharField()
            status = serializers.ChoiceField(choices=["pass", "fail", "skipped"])
            summary = serializers.CharField()
            problems = serializers.ListField(child=serializers.CharField())
            seconds = serializers.FloatField()

        class Phase(serializers.Serializer):
            name = serializers.CharField()
            seconds = serializers.FloatField()
            started_at = serializers.CharField()

        class BackupRef(serializers.Serializer):
            id = serializers.IntegerField()
            path = serializers.CharField()
            sha256 = serializers.CharField()
            taken_at = serializers.DateTimeField(source="created_at")

        id = serializers.IntegerField()
        kind = serializers.CharField()
        scope = serializers.CharField(help_text="What the drill exercises (a PITR drill is a mechanism self-test).")
        proves = serializers.CharField(help_text="What a pass proves, and what it does not.")
        target = serializers.CharField(source="target.name")
        status = serializers.ChoiceField(choices=Drill.Status.choices)
        finished = serializers.BooleanField(source="is_finished")
        passed = serializers.SerializerMethodField()
        backup = BackupRef(allow_null=True)
        objective = serializers.CharField()
        objective_seconds = serializers.FloatField()
        recovery_seconds = serializers.FloatField(allow_null=True)
        total_seconds = serializers.FloatField(allow_null=True)
        achieved_rpo_seconds = serializers.FloatField(allow_null=True)
        verdicts = Verdict(many=True)
        phases = Phase(many=True)
        error = serializers.CharField()
        requested_by = serializers.CharField(source="requested_by.username")
        reason = serializers.CharField()
        requested_at = serializers.DateTimeField()
        started_at = serializers.DateTimeField(allow_null=True)
        finished_at = serializers.DateTimeField(allow_null=True)
        report_url = serializers.SerializerMethodField()

        def get_passed(self, drill: Drill) -> bool | None:
            return drill.status == Drill.Status.PASSED if drill.is_finished else None

        def get_report_url(self, drill: Drill) -> str:
            return self.context["request"].build_absolute_uri(reverse("api-drill-report", args=[drill.pk]))

    @extend_schema(responses=Output, summary="A drill's status, verdicts and phases")
    def get(self, request: Request, pk: int) -> Response:
        drill = get_object_or_404(Drill.objects.select_related("target__service", "backup", "requested_by"), pk=pk)
        _check_target(request, drill.target)
        return Response(self.Output(drill, context={"request": request}).data)


class DrillReportApi(APIView):
    required_scopes = Scope.DRILLS_RUN.value
    renderer_classes = [MarkdownRenderer, JSONRenderer]

    @extend_schema(responses={(200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="The report")},
                   summary="A drill's report as Markdown")
    def get(self, request: Request, pk: int) -> HttpResponse:
        drill = get_object_or_404(Drill.objects.select_related("target__service"), pk=pk)
        _check_target(request, drill.target)
        report = drill.report_markdown or f"# Drill #{drill.pk} is {drill.status}\n\nNo report yet.\n"
        # Plain HttpResponse: the body is Markdown whatever Accept says (errors stay problem JSON).
        return HttpResponse(report, content_type="text/markdown; charset=utf-8")
