"""Schema plans (read by `govctl migrations check`, moved along by CI) and backfill control (pause/resume/cancel)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.idempotency import idempotent
from governance.api.permissions import api_reason, check_token_target, token_services
from governance.models import Scope
from governance.reasons import ReasonSerializerField
from schemaplans import services
from schemaplans.models import Backfill, SchemaPlan


def plan_reason(plan: SchemaPlan, summary: dict[str, Any]) -> str:
    """Why the plan is (not yet) safe to contract, in one line."""
    if plan.status in (SchemaPlan.Status.VERIFIED, SchemaPlan.Status.CONTRACTED):
        return f"{plan.status}: contract migrations naming this plan may ship"
    if plan.status != SchemaPlan.Status.VERIFYING:
        return f"{plan.status}: the plan must be backfilled and verified before its contract migration ships"
    window = summary["verification_window_seconds"] / 3600
    span = summary["streak_span_seconds"] / 3600
    text = (f"verifying: {summary['zero_streak']} of {summary['required_zero_runs']} consecutive zero runs, "
            f"spanning {span:.1f}h of {window:.1f}h")
    last = summary["last_run"]
    if last and last["mismatches"]:
        text += f"; the last run found {last['mismatches']} mismatching rows"
    elif last and last["error"]:
        text += f"; the last run failed: {last['error']}"
    return text


class SchemaPlanLastRun(serializers.Serializer):
    ran_at = serializers.DateTimeField()
    mismatches = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()


class SchemaPlanVerification(serializers.Serializer):
    zero_streak = serializers.IntegerField()
    required_zero_runs = serializers.IntegerField()
    streak_started_at = serializers.DateTimeField(allow_null=True)
    streak_span_seconds = serializers.IntegerField()
    verification_window_seconds = serializers.IntegerField()
    last_run = SchemaPlanLastRun(allow_null=True)


class SchemaPlanOutput(serializers.Serializer):
    id = serializers.CharField(source="slug")
    service = serializers.CharField(source="service.slug")
    status = serializers.ChoiceField(choices=SchemaPlan.Status.choices)
    status_changed_at = serializers.DateTimeField()
    reason = serializers.SerializerMethodField(help_text="Why the plan is or is not ready for its contract step.")
    description = serializers.CharField()
    table = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    expand_migration = serializers.CharField()
    contract_migration = serializers.CharField()
    expand_release_version = serializers.CharField()
    database = serializers.CharField(help_text="`default` or the NAME of the environment variable with the DSN.")
    verification = serializers.SerializerMethodField()

    def get_reason(self, plan: SchemaPlan) -> str:
        return plan_reason(plan, services.verification_summary(plan))

    @extend_schema_field(SchemaPlanVerification)
    def get_verification(self, plan: SchemaPlan) -> dict[str, Any]:
        return SchemaPlanVerification(services.verification_summary(plan)).data


def _plan_for(request: Request, slug: str) -> SchemaPlan:
    plan = get_object_or_404(SchemaPlan.objects.select_related("service"), slug=slug)
    check_token_target(request, service=plan.service)
    return plan


class SchemaPlanDetailApi(APIView):
    required_scopes = None  # any valid token: CI checks plans before shipping contract migrations

    @extend_schema(responses=SchemaPlanOutput, summary="A schema plan and where its verification stands")
    def get(self, request: Request, slug: str) -> Response:
        return Response(SchemaPlanOutput(_plan_for(request, slug)).data)


class SchemaPlanTransitionApi(APIView):
    required_scopes = Scope.RELEASES_WRITE.value

    class Input(serializers.Serializer):
        status = serializers.ChoiceField(choices=[s for s in SchemaPlan.Status.values if s != "verified"])
        release_version = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                                help_text="With status=expanded: the release that shipped it.")
        reason = ReasonSerializerField()

    @extend_schema(request=Input, responses=SchemaPlanOutput,
                   summary="Move a plan along expand → backfill → verify → contract (CI after each deploy)")
    @idempotent
    def post(self, request: Request, slug: str) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.transition_plan(
            plan=_plan_for(request, slug), to=data.validated_data["status"], actor=request.user,
            reason=api_reason(request, data.validated_data["reason"]),
            release_version=data.validated_data.get("release_version", ""),
        )
        return Response(SchemaPlanOutput(plan).data)


class BackfillProgressOutput(serializers.Serializer):
    rows_done = serializers.IntegerField()
    estimated_rows = serializers.IntegerField(allow_null=True)
    fraction = serializers.FloatField(allow_null=True, help_text="Done share of the key range (0..1).")
    rate_rows_per_second = serializers.FloatField(source="rate", allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)
    next_key = serializers.IntegerField(allow_null=True, help_text="Checkpoint: every key below it is done.")
    lower_key = serializers.IntegerField(allow_null=True)
    upper_key = serializers.IntegerField(allow_null=True)
    batch_size = serializers.IntegerField()
    batches_done = serializers.IntegerField()
    last_batch_ms = serializers.FloatField()
    max_batch_ms = serializers.FloatField()
    retries = serializers.IntegerField()
    splits = serializers.IntegerField()
    throttle_reason = serializers.CharField()
    last_error = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)


class BackfillOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    service = serializers.CharField(source="service.slug", allow_null=True, default=None)
    plan = serializers.CharField(source="plan.slug", allow_null=True, default=None)
    status = serializers.ChoiceField(choices=Backfill.Status.choices)
    status_reason = serializers.CharField()
    database = serializers.CharField()
    table = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    progress = BackfillProgressOutput(allow_null=True)


def _backfill_for(request: Request, pk: int) -> Backfill:
    backfill = get_object_or_404(Backfill.objects.select_related("service", "plan", "progress"), pk=pk)
    if backfill.service is None:
        if token_services(request) is not None:
            raise PermissionDenied("This token is restricted to services; backfill "
                                   f"#{backfill.pk} works on the portal's own data.")
    else:
        check_token_target(request, service=backfill.service)
    return backfill


class BackfillDetailApi(APIView):
    required_scopes = None  # any valid token (govctl backfill status)

    @extend_schema(responses=BackfillOutput, summary="A backfill's state and progress")
    def get(self, request: Request, pk: int) -> Response:
        return Response(BackfillOutput(_backfill_for(request, pk)).data)


class BackfillReasonInput(serializers.Serializer):
    reason = ReasonSerializerField()


class BackfillControlBase(APIView):
    required_scopes = Scope.RELEASES_WRITE.value
    service_call: Any = None

    def act(self, request: Request, pk: int) -> Response:
        data = BackfillReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        backfill = type(self).service_call(backfill=_backfill_for(request, pk), actor=request.user,
                                           reason=api_reason(request, data.validated_data["reason"]))
        backfill.refresh_from_db()
        return Response(BackfillOutput(backfill).data)


class BackfillPauseApi(BackfillControlBase):
    service_call = staticmethod(services.pause_backfill)

    @extend_schema(request=BackfillReasonInput, responses=BackfillOutput,
                   summary="Pause a running backfill after its current batch")
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        return self.act(request, pk)


class BackfillResumeApi(BackfillControlBase):
    service_call = staticmethod(services.resume_backfill)

    @extend_schema(request=BackfillReasonInput, responses=BackfillOutput,
                   summary="Resume a paused backfill from its last checkpoint")
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        return self.act(request, pk)


class BackfillCancelApi(BackfillControlBase):
    service_call = staticmethod(services.cancel_backfill)

    @extend_schema(request=BackfillReasonInput, responses=BackfillOutput,
                   summary="Cancel a backfill for good (committed batches stay)")
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        return self.act(request, pk)
