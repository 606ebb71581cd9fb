"""Supply-chain API: attach an SBOM to a release, a release's findings, waivers (request, approve), the
"which releases contain package X" search."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.idempotency import idempotent
from governance.api.permissions import api_reason, check_token_target, request_token, target_service, token_allows
from governance.models import Scope
from governance.reasons import ReasonSerializerField
from releases.models import Release
from supplychain import queries, services
from supplychain.models import Sbom, Waiver


def _release(request: Request, pk: int) -> Release:
    release = get_object_or_404(Release.objects.select_related("service"), pk=pk)
    check_token_target(request, service=release.service)
    return release


class SbomOutput(serializers.Serializer):
    id = serializers.IntegerField()
    release = serializers.IntegerField(source="release_id")
    # a field named like Field.source: DRF's metaclass moves declared fields off the class, so it is safe
    source = serializers.CharField()  # type: ignore[assignment]  # see above
    spec_version = serializers.CharField()
    sha256 = serializers.CharField()
    components = serializers.IntegerField(source="component_count")
    received_at = serializers.DateTimeField()


class SbomAttachApi(APIView):
    """Attach a CycloneDX JSON SBOM to a registered release. It is not part of the signed evidence: approvals
    stand, and the SBOM shows when it arrived. The same SBOM again answers 200."""

    required_scopes = Scope.RELEASES_WRITE.value

    class Input(serializers.Serializer):
        sbom = serializers.JSONField(help_text="A CycloneDX JSON document, specVersion 1.5 or 1.6.")
        reason = ReasonSerializerField(required=False, default="SBOM attached")

    class Output(SbomOutput):
        created = serializers.BooleanField()
        new_findings = serializers.IntegerField()

    @extend_schema(request=Input, responses={201: Output, 200: Output}, summary="Attach an SBOM to a release")
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        release = _release(request, pk)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        stored = services.store_sbom(release=release, document=data.validated_data["sbom"],
                                     source=Sbom.Source.ATTACHED, actor=request.user,
                                     reason=api_reason(request, data.validated_data["reason"]))
        body = dict(SbomOutput(stored.sbom).data, created=stored.created, new_findings=len(stored.new_findings))
        return Response(body, status=201 if stored.created else 200)


class ReleaseVulnerabilitiesApi(APIView):
    required_scopes = None  # any valid token; restricted tokens see their services only

    class FindingOutput(serializers.Serializer):
        advisory = serializers.CharField()
        aliases = serializers.ListField(child=serializers.CharField())
        severity = serializers.CharField()
        score = serializers.FloatField(allow_null=True)
        component = serializers.CharField()
        fixed = serializers.CharField()
        waiver = serializers.IntegerField(allow_null=True)

    class Output(serializers.Serializer):
        release = serializers.IntegerField()
        sbom = SbomOutput(allow_null=True)
        live_in = serializers.ListField(child=serializers.CharField())
        findings = serializers.ListField(child=serializers.DictField(),
                                         help_text="[{advisory, aliases, severity, score, component, fixed, waiver}]")

    @extend_schema(responses={200: Output}, summary="A release's SBOM and vulnerability findings")
    def get(self, request: Request, pk: int) -> Response:
        release = _release(request, pk)
        sbom = queries.current_sbom(release)
        rows = []
        for finding in queries.findings_of(release):
            waiver = queries.waiver_in_force(release, finding)
            rows.append({"advisory": finding.advisory.osv_id, "aliases": finding.advisory.aliases,
                         "severity": finding.advisory.severity_rating, "score": finding.advisory.severity_score,
                         "component": finding.purl, "fixed": finding.fixed, "waiver": waiver.pk if waiver else None})
        return Response({"release": release.pk, "sbom": SbomOutput(sbom).data if sbom else None,
                         "live_in": [e.slug for e in queries.live_where(release)], "findings": rows})


class WaiverOutput(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField(source="service.slug")
    advisory = serializers.CharField(source="advisory_id")
    ecosystem = serializers.CharField()
    package = serializers.CharField()
    reason = serializers.CharField()
    status = serializers.CharField()
    expires_at = serializers.DateTimeField()
    requested_by = serializers.CharField(source="requested_by.username")
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True, default=None)


class WaiverRequestApi(APIView):
    """Ask to accept an advisory in a package of a service until an expiry; another person approves it."""

    required_scopes = Scope.RELEASES_WRITE.value

    class Input(serializers.Serializer):
        service = serializers.SlugField(max_length=63)
        advisory = serializers.CharField(max_length=100, help_text="The OSV id, e.g. GHSA-… or PYSEC-….")
        package = serializers.CharField(max_length=1000, help_text="A purl, e.g. pkg:pypi/django.")
        expires_at = serializers.DateTimeField()
        reason = ReasonSerializerField()

    @extend_schema(request=Input, responses={201: WaiverOutput}, summary="Request a vulnerability waiver")
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = dict(data.validated_data)
        service = target_service(request, values["service"])
        waiver = services.request_waiver(service=service, advisory_id=values["advisory"], package=values["package"],
                                         expires_at=values["expires_at"], actor=request.user,
                                         reason=api_reason(request, values["reason"]))
        return Response(WaiverOutput(waiver).data, status=201)


class WaiverApproveApi(APIView):
    required_scopes = Scope.RELEASES_WRITE.value

    class Input(serializers.Serializer):
        reason = ReasonSerializerField()

    @extend_schema(request=Input, responses={200: WaiverOutput}, summary="Approve a waiver (not its requester)")
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        waiver = get_object_or_404(Waiver.objects.select_related("service"), pk=pk)
        check_token_target(request, service=waiver.service)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        waiver = services.approve_waiver(waiver=waiver, actor=request.user,
                                         reason=api_reason(request, data.validated_data["reason"]))
        return Response(WaiverOutput(waiver).data)


class PackageReleasesApi(APIView):
    """Which releases, live where, contain a package (at a version): across every service the token sees."""

    required_scopes = None

    class Output(serializers.Serializer):
        service = serializers.CharField()
        release = serializers.CharField(help_text="The release's version.")
        release_id = serializers.IntegerField()
        state = serializers.CharField()
        purl = serializers.CharField()
        package = serializers.CharField()
        version = serializers.CharField()
        live_in = serializers.ListField(child=serializers.CharField(), help_text="Environments where it runs now.")

    @extend_schema(parameters=[OpenApiParameter("package", str, required=True,
                                                description="A purl (pkg:pypi/django@5.2.1) or a package name"),
                               OpenApiParameter("version", str, required=False)],
                   responses={200: Output(many=True)},
                   summary="Releases that contain a package")
    def get(self, request: Request) -> Response:
        package = str(request.query_params.get("package") or "").strip()
        if not package or len(package) > 1000:
            raise exceptions.ValidationError({"package": "name a package (a purl or a name, at most 1000 characters)"})
        version = str(request.query_params.get("version") or "")[:200]
        token = request_token(request)
        rows = [r for r in queries.releases_containing(package, version)
                if token_allows(token, service_id=int(r["service_id"]), environment_id=None)]
        return Response(self.Output(rows, many=True).data)
