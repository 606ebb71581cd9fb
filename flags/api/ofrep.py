"""OpenFeature Remote Evaluation Protocol (OFREP v1): single and bulk evaluation.

Request `{context}` (OpenFeature: `targetingKey` becomes the Unleash `userId`, other attributes
become Unleash properties or top-level fields). Success `{key, value, reason, variant, metadata}`;
a missing `value` means "use the code default" (a non-boolean flag without a value). Errors
`{key, errorCode, errorDetails}`: 404 FLAG_NOT_FOUND, 400 INVALID_CONTEXT / PARSE_ERROR. The bulk
answer carries an ETag and answers 304 to a matching If-None-Match.

The service and environment come from the X-Governance-Service / X-Governance-Environment headers,
else `service` / `environment` in the context, else a token restricted to exactly one of each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from govctl.flags.evaluation import ErrorCode, Result
from govctl.flags.snapshot import canonical_json
from rest_framework import exceptions, serializers
from rest_framework.request import Request

from flags import delivery
from flags.api import common
from flags.api.views import FlagDeliveryApi


def _error(status: int, key: str | None, code: str, details: str) -> JsonResponse:
    body: dict[str, Any] = {"errorCode": code, "errorDetails": details}
    if key is not None:
        body = {"key": key, **body}
    return JsonResponse(body, status=status)


def _first(detail: Any) -> str:
    while isinstance(detail, dict | list) and detail:
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail)


def _context(request: Request) -> Mapping[str, Any] | None:
    data = request.data if isinstance(request.data, Mapping) else None
    if data is None:
        return None
    context = data.get("context", {})
    return context if isinstance(context, Mapping) else None


def _success(result: Result, snapshot: delivery.Snapshot) -> dict[str, Any]:
    body: dict[str, Any] = {"key": result.key, "reason": result.reason, "variant": result.variant.name,
                            # where it came from is in the X-Flags-Source header (and CACHED/STALE reasons), so
                            # the bulk ETag only moves when answers do
                            "metadata": {"revision": snapshot.revision if snapshot.revision is not None else "",
                                         "valueType": snapshot.state.value_type(result.key) or "boolean"}}
    if result.value is not None:
        body["value"] = result.value
    if result.error_code is not None:  # answered by a failure mode (GENERAL): the value stands, say why
        body["metadata"]["errorCode"] = result.error_code
    return body


def _evaluate(request: Request, key: str | None) -> tuple[Any, delivery.Snapshot | None]:
    context = _context(request)
    if context is None:
        return _error(400, key, ErrorCode.INVALID_CONTEXT, "The body must be {\"context\": {…}}."), None
    try:
        service, environment = common.target_from(request, context)
    except exceptions.ValidationError as exc:
        return _error(400, key, ErrorCode.INVALID_CONTEXT, _first(exc.detail)), None
    try:
        snapshot = common.snapshot_for(request, service, environment)
    except common.NoFlagData as exc:
        return JsonResponse({"errorDetails": str(exc.detail)}, status=503), None
    return common.ofrep_to_unleash(context), snapshot


class OfrepFlagEvaluateApi(FlagDeliveryApi):
    class Input(serializers.Serializer):
        context = serializers.DictField(  # type: ignore[assignment]  # DRF pops declared fields off the class
            required=False)

    @extend_schema(request=Input, responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT,
                                             404: OpenApiTypes.OBJECT},
                   summary="OFREP: evaluate one flag", operation_id="ofrep_evaluate_flag")
    def post(self, request: Request, key: str) -> HttpResponse:
        context, snapshot = _evaluate(request, key)
        if snapshot is None:
            return context
        result = delivery.resolve(snapshot, key, context)
        if result.error_code == ErrorCode.FLAG_NOT_FOUND:
            return _error(404, key, ErrorCode.FLAG_NOT_FOUND, f"No flag '{key}' in {snapshot.service}/"
                                                              f"{snapshot.environment}.")
        if result.error_code in (ErrorCode.PARSE_ERROR, ErrorCode.INVALID_CONTEXT):
            return _error(400, key, result.error_code, result.error_message or result.error_code)
        return JsonResponse(_success(result, snapshot), headers=common.source_headers(snapshot, "ofrep"))


class OfrepBulkEvaluateApi(FlagDeliveryApi):
    class Input(serializers.Serializer):
        context = serializers.DictField(  # type: ignore[assignment]  # DRF pops declared fields off the class
            required=False)

    @extend_schema(request=Input, parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER)],
                   responses={200: OpenApiTypes.OBJECT, 304: OpenApiResponse(description="Not modified"),
                              400: OpenApiTypes.OBJECT},
                   summary="OFREP: evaluate every flag", operation_id="ofrep_evaluate_flags")
    def post(self, request: Request) -> HttpResponse:
        context, snapshot = _evaluate(request, None)
        if snapshot is None:
            return context
        flags = []
        for key in sorted(snapshot.state.features):
            result = delivery.resolve(snapshot, key, context)
            if result.error_code in (ErrorCode.PARSE_ERROR, ErrorCode.INVALID_CONTEXT):
                flags.append({"key": key, "errorCode": result.error_code,
                              "errorDetails": result.error_message or result.error_code})
            else:
                flags.append(_success(result, snapshot))
        content = canonical_json({"flags": flags})
        etag = f'"{hashlib.sha256(content).hexdigest()[:40]}"'
        response = common.conditional(request, content, etag, headers=common.source_headers(snapshot, "ofrep"))
        response["Cache-Control"] = "no-cache"  # evaluated per context: revalidate with the ETag
        return response
