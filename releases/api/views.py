"""Release API for CI: plan, register, look up, checks, deployments, the gate and the deploy summary."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.idempotency import idempotent
from governance.api.permissions import api_reason, check_token_target, target_environment, target_service
from governance.api.renderers import MarkdownRenderer
from governance.models import Scope, Service
from governance.reasons import ReasonSerializerField
from governance.secret_scan import refuse_secrets
from releases import gates, planning, services, summary
from releases.models import CHECK_NAME, Check, Deployment, Release

SHA = r"^[0-9a-fA-F]{7,64}$"


def _release(request: Request, pk: int) -> Release:
    release = get_object_or_404(Release.objects.select_related("service"), pk=pk)
    check_token_target(request, service=release.service)
    return release


def _release_by_version(service: Service, version: str) -> Release:
    release = Release.objects.select_related("service").filter(service=service, version=version).first()
    if release is None:
        raise exceptions.NotFound(f"{service.slug} has no release {version}.")
    return release


class CommitInput(serializers.Serializer):
    sha = serializers.RegexField(SHA, max_length=64, error_messages={"invalid": "a commit SHA is 7 to 64 hex digits"})
    message = serializers.CharField(max_length=100_000, trim_whitespace=False)
    author = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    time = serializers.DateTimeField(required=False, allow_null=True, default=None)
    pr_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


def _json_object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise serializers.ValidationError(f"{name} must be a JSON object")
    return value  # NUL anywhere (jsonb cannot hold it) is refused by the JSON parser (governance.json_safety)


class ReleasePlanApi(APIView):
    """The portal is the version authority: commits in, next version, explanation and changelog out."""

    required_scopes = Scope.RELEASES_WRITE.value
    write_reach = "none"  # a POST for its body: plans, stores nothing

    class Input(serializers.Serializer):
        commits = serializers.ListField(child=CommitInput(), max_length=10_000, allow_empty=True)
        pr_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
        channel = serializers.CharField(max_length=40, required=False, allow_null=True, default=None,
                                        help_text="Pre-release channel (alpha, beta, rc); omit or 'stable' for a release.")
        policy = serializers.JSONField(required=False, help_text="Bump policy (default: the latest release's).")
        date = serializers.DateField(required=False, help_text="Date for the changelog heading.")

        def validate_policy(self, value: Any) -> dict[str, Any]:
            return _json_object(value, "policy")

    class InvalidCommit(serializers.Serializer):
        sha = serializers.CharField()
        subject = serializers.CharField()
        errors = serializers.ListField(  # type: ignore[assignment]  # DRF pops declared fields off the class
            child=serializers.CharField())

    class Output(serializers.Serializer):
        service = serializers.CharField()
        current_version = serializers.CharField(allow_null=True)
        next_version = serializers.CharField(allow_null=True, help_text="null: nothing warrants a release.")
        bump = serializers.CharField()
        channel = serializers.CharField(allow_null=True)
        explanation = serializers.ListField(child=serializers.CharField())
        changelog = serializers.CharField()
        invalid_commits = serializers.ListField(child=serializers.DictField())
        complete = serializers.BooleanField(help_text="false: a commit was rejected, so the version may be too low.")
        release_as = serializers.CharField(allow_null=True)
        policy = serializers.DictField()

    @extend_schema(request=Input, responses={200: Output}, summary="Plan the next release of a service")
    def post(self, request: Request, service: str) -> Response:
        target = target_service(request, service)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        policy = planning.policy_from(values.get("policy"), target, field="policy")
        date = values.get("date")
        plan = planning.plan_for(service=target, commits=values["commits"], pr_url=values["pr_url"],
                                 channel=values["channel"], policy=policy, date=date.isoformat() if date else None)
        return Response(self.Output(planning.plan_payload(target, plan)).data)


class ReleaseDetailApi(APIView):
    required_scopes = None  # any valid token; restricted tokens see their services only

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        service = serializers.CharField(source="service.slug")
        version = serializers.CharField()
        tag = serializers.CharField()
        build_sha = serializers.CharField()
        schema_hash = serializers.CharField()
        pr_url = serializers.CharField()
        author = serializers.CharField()
        channel = serializers.CharField()
        bump = serializers.CharField()
        state = serializers.CharField()
        evidence_digest = serializers.CharField()
        evidence_revision = serializers.IntegerField()
        changelog = serializers.CharField()
        artifacts = serializers.DictField()
        bump_policy = serializers.DictField()
        created_at = serializers.DateTimeField()

    @extend_schema(responses={200: Output}, summary="A release and its evidence")
    def get(self, request: Request, pk: int) -> Response:
        return Response(self.Output(_release(request, pk)).data)


class ReleaseLookupApi(APIView):
    required_scopes = None

    @extend_schema(responses={200: ReleaseDetailApi.Output}, summary="Find a service's release by version")
    def get(self, request: Request, service: str, version: str) -> Response:
        release = _release_by_version(target_service(request, service), version)
        return Response(ReleaseDetailApi.Output(release).data)


class ReleaseCreateApi(APIView):
    """Register a release with its evidence. The same evidence again answers 200 with the same release."""

    required_scopes = Scope.RELEASES_WRITE.value

    class Input(serializers.Serializer):
        service = serializers.SlugField(max_length=63)
        version = serializers.CharField(max_length=128, required=False,
                                        help_text="SemVer 2.0.0; omitted: the portal computes it from the commits.")
        tag = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                    help_text="Default: v<version>.")
        build_sha = serializers.RegexField(SHA, max_length=64,
                                           error_messages={"invalid": "the build SHA is 7 to 64 hex digits"})
        schema_hash = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
        pr_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
        author = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        channel = serializers.CharField(max_length=40, required=False, allow_null=True, default=None)
        commits = serializers.ListField(child=CommitInput(), max_length=10_000, required=False, default=list)
        changelog = serializers.CharField(max_length=200_000, required=False, allow_null=True, allow_blank=True,
                                          trim_whitespace=False, default=None,
                                          help_text="Default: rendered from the commits.")
        artifacts = serializers.JSONField(required=False, default=dict,
                                          help_text="Any JSON object: environment matrix, bundle report …")
        bump_policy = serializers.JSONField(required=False, default=None)
        replace = serializers.BooleanField(
            required=False, default=False,
            help_text="Amend the evidence of an already registered version that has not gone live (voids approvals).")
        reason = ReasonSerializerField(required=False, default="register release")

        def validate_artifacts(self, value: Any) -> dict[str, Any]:
            return _json_object(value, "artifacts")

        def validate_bump_policy(self, value: Any) -> dict[str, Any] | None:
            return None if value is None else _json_object(value, "bump_policy")

    class Output(ReleaseDetailApi.Output):
        created = serializers.BooleanField()
        amended = serializers.BooleanField()

    @extend_schema(request=Input, responses={201: Output, 200: Output}, summary="Register a release (idempotent)")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        refuse_secrets(values)  # artifacts, changelog, commits, URLs …: a 400 naming the field, nothing stored
        service = target_service(request, values.pop("service"))
        reason = api_reason(request, values.pop("reason"))
        result = services.register_release(service=service, actor=request.user, reason=reason, **values)
        body = dict(ReleaseDetailApi.Output(result.release).data, created=result.created, amended=result.amended)
        return Response(body, status=201 if result.created else 200)


class CheckReportApi(APIView):
    required_scopes = Scope.CHECKS_WRITE.value

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=63, validators=[CHECK_NAME])
        status = serializers.ChoiceField(
            choices=Check.Status.choices,
            error_messages={"invalid_choice": "'{input}' is not a check status; use pending, success, failure or "
                                              "neutral."})
        url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
        summary = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
        reason = ReasonSerializerField(required=False, default="check reported")

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        release = serializers.IntegerField(source="release_id")
        name = serializers.CharField()
        status = serializers.CharField()
        url = serializers.CharField()
        summary = serializers.CharField()
        evidence_digest = serializers.CharField()
        reported_at = serializers.DateTimeField()

    @extend_schema(request=Input, responses={201: Output, 200: Output},
                   summary="Report a check on a release (re-reporting updates it)")
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        release = _release(request, pk)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        refuse_secrets(values)  # the summary and URL are evidence too
        reason = api_reason(request, values.pop("reason"))
        check, created = services.report_check(release=release, actor=request.user, reason=reason, **values)
        return Response(self.Output(check).data, status=201 if created else 200)


class DeploymentRecordApi(APIView):
    required_scopes = Scope.RELEASES_WRITE.value
    write_reach = "environment"  # one environment per request, checked against the token

    class Input(serializers.Serializer):
        release = serializers.IntegerField(required=False, help_text="The release id, or give service and version.")
        service = serializers.SlugField(max_length=63, required=False)
        version = serializers.CharField(max_length=128, required=False)
        environment = serializers.SlugField(max_length=63)
        status = serializers.ChoiceField(
            choices=[Deployment.Status.SUCCEEDED, Deployment.Status.FAILED], default=Deployment.Status.SUCCEEDED,
            error_messages={"invalid_choice": "'{input}' is not a recorded deployment status; use succeeded or "
                                              "failed."})
        url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
        provider_ref = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                             help_text="The provider's deployment id (e.g. Vercel's dpl_…).")
        started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        finished_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        reason = ReasonSerializerField(required=False, default="deployment recorded")

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs.get("release") is None and not (attrs.get("service") and attrs.get("version")):
                raise serializers.ValidationError({"release": "give the release id, or service and version"})
            return attrs

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        release = serializers.IntegerField(source="release_id")
        service = serializers.CharField(source="service.slug")
        version = serializers.CharField(source="release.version")
        environment = serializers.CharField(source="environment.slug")
        status = serializers.CharField()
        release_state = serializers.CharField(source="release.state")
        gate_decision = serializers.SerializerMethodField()
        finished_at = serializers.DateTimeField()

        def get_gate_decision(self, deployment: Deployment) -> str | None:
            return deployment.gate.get("decision") if deployment.gate else None

    @extend_schema(request=Input, responses={201: Output}, summary="Record a deployment CI made")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        refuse_secrets(values)  # the URL and provider reference are shown with the release's evidence
        if values.get("release") is not None:
            release = _release(request, values["release"])
        else:
            release = _release_by_version(target_service(request, values["service"]), values["version"])
        environment = target_environment(request, values["environment"])
        deployment = services.record_deployment(
            release=release, environment=environment, status=values["status"],
            actor=request.user, reason=api_reason(request, values["reason"]), url=values["url"],
            provider_ref=values["provider_ref"], started_at=values["started_at"], finished_at=values["finished_at"])
        deployment.release.refresh_from_db(fields=["state"])
        return Response(self.Output(deployment).data, status=201)


class GateInputOutput(serializers.Serializer):
    name = serializers.CharField()
    verdict = serializers.CharField(help_text="allow, block or pending")
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ReleaseGateApi(APIView):
    required_scopes = None

    class Input(serializers.Serializer):
        environment = serializers.SlugField(max_length=63)

    class Output(serializers.Serializer):
        decision = serializers.ChoiceField(choices=["allow", "block", "pending"])
        release = serializers.IntegerField()
        environment = serializers.CharField()
        evidence_digest = serializers.CharField()
        evaluated_at = serializers.DateTimeField()
        policy = serializers.DictField()
        inputs = GateInputOutput(many=True)

    @extend_schema(parameters=[OpenApiParameter("environment", str, required=True)], responses={200: Output},
                   summary="Evaluate the gate for a release entering an environment")
    def get(self, request: Request, pk: int) -> Response:
        data = self.Input(data=request.query_params)
        data.is_valid(raise_exception=True)
        release = _release(request, pk)
        environment = target_environment(request, data.validated_data["environment"])
        return Response(gates.evaluate(release, environment).to_dict())


class ReleaseSummaryApi(APIView):
    required_scopes = None
    renderer_classes = [MarkdownRenderer, JSONRenderer]

    @extend_schema(responses={(200, "text/markdown"): OpenApiTypes.STR},
                   summary="The deploy summary of a release (Markdown)")
    def get(self, request: Request, pk: int) -> HttpResponse:
        release = _release(request, pk)
        return HttpResponse(summary.render(release), content_type="text/markdown; charset=utf-8")
