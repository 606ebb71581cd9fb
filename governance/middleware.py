"""Refuse a NUL byte anywhere in the URL before any view runs.

PostgreSQL text cannot hold NUL, so a path segment or query parameter carrying %00 into a lookup fails in the
database (a 500): in API path parameters, admin object ids, admin list filters, every view to come. One check
here instead of one per view. Bodies are checked where they are parsed (forms and serializers refuse NUL).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from governance.api import errors

API_PREFIXES = ("/api/", "/ofrep/")
DETAIL = "The URL holds a NUL byte (%00), which no identifier or parameter of the portal can contain."


def refuse_nul_bytes(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            if request.path.startswith(API_PREFIXES):
                return JsonResponse(errors.problem(400, "Bad request", DETAIL, code="nul-in-url"), status=400,
                                    content_type=errors.CONTENT_TYPE)
            return defaults.bad_request(request, SuspiciousOperation(DETAIL))
        return get_response(request)

    return middleware
