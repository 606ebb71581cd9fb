"""Error pages: problem JSON under /api/ and /ofrep/, Django's plain pages elsewhere; 503 when the database is down."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from governance import outage
from governance.api import errors
from governance.middleware import API_PREFIXES

UNAVAILABLE_PAGE = """<!doctype html>
<html lang="en"><head><title>Service unavailable</title></head>
<body><h1>Service unavailable</h1><p>The portal cannot reach its database. Nothing was changed; try again in a
few seconds.</p></body></html>
"""


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return errors.api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500, called inside the except block of every uncaught exception (views, DRF views, middleware):
    a lost database connection is the one place that becomes 503 + Retry-After."""
    if outage.database_unavailable(sys.exc_info()[1]):
        response: HttpResponse
        if request.path.startswith(API_PREFIXES):
            response = JsonResponse(errors.problem(503, "Service unavailable", "The database is unreachable; "
                                                   "nothing was changed. Retry later.", code="database-unavailable"),
                                    status=503, content_type=errors.CONTENT_TYPE)
        else:
            response = HttpResponse(UNAVAILABLE_PAGE, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(outage.RETRY_AFTER_SECONDS)
        return response
    if request.path.startswith(API_PREFIXES):
        return errors.api_server_error(request)
    return defaults.server_error(request)
