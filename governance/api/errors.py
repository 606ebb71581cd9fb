"""Errors as RFC 9457 problem details: {type, title, status, detail, errors}."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from governance.conflicts import Conflict as DomainConflict

PROBLEM_TYPE = "https://governance.invalid/problems/"
CONTENT_TYPE = "application/problem+json"


def problem(status_code: int, title: str, detail: str = "", *, code: str = "", errors: Any = None,
            **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + (code or title.lower().replace(" ", "-")),
        "title": title,
        "status": status_code,
        "detail": detail or title,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        flat = [_flatten(v) for v in detail]
        return flat
    return str(detail)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainConflict):  # the one place a domain conflict becomes a 409 (before ValidationError)
        body = problem(409, "Conflict", str(exc), code=exc.problem_code, **exc.details)
        set_rollback()
        return Response(body, status=409, content_type=CONTENT_TYPE)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):  # raised while DRF reads the body: Django alone would answer HTML
        exc = ContentTooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.")
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        summary = "; ".join(
            f"{field}: {msgs[0] if isinstance(msgs, list) and msgs and isinstance(msgs[0], str) else msgs}"
            for field, msgs in errors.items()
        )
        # a ValidationError may name its own problem code and extra members (governance.secret_scan does)
        body = problem(400, "Invalid request", summary, code=getattr(exc, "problem_code", "validation-error"),
                       errors=errors, **getattr(exc, "problem_extra", {}))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        title = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
                 405: "Method not allowed", 409: "Conflict", 413: "Content too large", 415: "Unsupported media type",
                 422: "Unprocessable content", 429: "Too many requests"}.get(response.status_code, "Error")
        body = problem(response.status_code, title, str(detail), code=str(code) if isinstance(code, str) else "")
    response.data = body
    response.content_type = CONTENT_TYPE
    return response


class ContentTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "content-too-large"


class Unprocessable(exceptions.APIException):
    status_code = 422
    default_detail = "The request is well-formed but cannot be processed."
    default_code = "unprocessable"


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(problem(404, "Not found", f"No API endpoint at {request.path}."), status=404,
                        content_type=CONTENT_TYPE)


def api_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(problem(500, "Server error", "The portal failed; the error is logged."), status=500,
                        content_type=CONTENT_TYPE)
