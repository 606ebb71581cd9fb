"""The status app's token API (/api/v1/status/…): the post-incident review draft."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from governance.api.permissions import check_token_target
from governance.api.renderers import MarkdownRenderer
from governance.models import Scope
from status import review
from status.models import Incident


class IncidentReviewApi(APIView):
    """It reads the audit trail, so it needs the audit scope (and a token allowed for the incident's service)."""

    required_scopes = Scope.AUDIT_READ.value
    renderer_classes = [MarkdownRenderer, JSONRenderer]

    @extend_schema(responses={(200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR,
                                                                      description="The review draft")},
                   summary="An incident's post-incident review draft (Markdown, timeline from the audit trail)")
    def get(self, request: Request, pk: int) -> HttpResponse:
        incident = get_object_or_404(Incident.objects.select_related("service", "commander"), pk=pk,
                                     kind=Incident.Kind.INCIDENT)
        check_token_target(request, service=incident.service)
        return HttpResponse(review.draft(incident), content_type="text/markdown; charset=utf-8")
