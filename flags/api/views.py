"""Flag delivery for governed services: snapshot (local evaluation), server-side evaluate, heartbeat."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from flags import delivery, services
from flags.api import common
from flags.api.auth import FlagReadThrottle, FlagTokenAuthentication, Unavailable, verified_token
from governance.api.permissions import check_token_target, token_allows
from governance.models import Environment, Scope, Service


class FlagDeliveryApi(APIView):
    """Flag reads: cached token auth and per-process throttles, so they answer without the database."""

    authentication_classes = [FlagTokenAuthentication]
    throttle_classes = [FlagReadThrottle]
    required_scopes = Scope.FLAGS_READ.value
    # POSTs here evaluate or report telemetry for one service and environment, checked against the token.
    write_reach = "environment"
    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        # JSON is all these endpoints speak: skip parsing Accept on the hot path.
        return self.renderer_classes[0](), "application/json"


class FlagSnapshotApi(FlagDeliveryApi):
    class Input(serializers.Serializer):
        service = serializers.CharField(max_length=63)
        environment = serializers.CharField(max_length=63)

    @extend_schema(
        parameters=[OpenApiParameter("service", str, required=True), OpenApiParameter("environment", str, required=True),
                    OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER)],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description=(
            "Unleash client-API format {version, features, segments} plus revision, generated_at and signature; "
            "headers ETag, Cache-Control, X-Flags-Source (database|cache|memory|lkg-file).")),
            304: OpenApiResponse(description="Not modified (If-None-Match matched the ETag)."),
            503: OpenApiResponse(description="No flag data in any layer.")},
        summary="The flag snapshot of a service in an environment, for local evaluation",
    )
    def get(self, request: Request) -> HttpResponse:
        service, environment = _target(request, self.Input)
        snapshot = common.snapshot_for(request, service, environment)
        return common.conditional(request, snapshot.content, snapshot.etag, headers=common.source_headers(snapshot, "snapshot"))


_targets: dict[str, tuple[str, str]] = {}


def _target(request: Request, input_class: type[serializers.Serializer]) -> tuple[str, str]:
    """(service, environment) of a snapshot poll. SDKs poll with the same query string over and over:
    remember its parse (parsing a QueryDict costs more than serving the snapshot from memory)."""
    query = request._request.META.get("QUERY_STRING", "")
    known = _targets.get(query)
    if known is not None:
        return known
    params = request.query_params
    service, environment = params.get("service", ""), params.get("environment", "")
    if not (0 < len(service) <= 63 and 0 < len(environment) <= 63):
        input_class(data=params).is_valid(raise_exception=True)  # the standard 400
    if len(_targets) >= 1024:
        _targets.clear()
    _targets[query] = (service, environment)
    return service, environment


_ALLOW = "GET, HEAD, OPTIONS"  # what FlagSnapshotApi answers in Allow


def _poll_fast(request: HttpRequest) -> HttpResponse | None:
    """A routine snapshot poll served without DRF's dispatch, or None for anything else.

    Only the common case is served here: a GET with a valid flags:read token allowed on the target, a
    query string already parsed once, a snapshot in some layer, the throttle not exhausted. It runs the
    very checks FlagSnapshotApi runs, with the same cached token verification, throttle buckets and
    snapshot layers; anything else returns None, and FlagSnapshotApi answers (and explains the error).
    The throttle is spent last, so a request handed over is never counted twice.
    """
    if request.method != "GET":
        return None
    target = _targets.get(request.META.get("QUERY_STRING", ""))
    if target is None:
        return None
    try:
        token = verified_token(request.META)
    except Unavailable:
        return None
    if token is None or Scope.FLAGS_READ.value not in token.scopes:
        return None
    try:
        snapshot = delivery.get_snapshot(*target)
    except delivery.UnknownTarget:
        return None
    if snapshot is None or not token_allows(token, service_id=snapshot.service_id,
                                            environment_id=snapshot.environment_id):
        return None
    if FlagReadThrottle.take(f"token-{token.pk}") is not None:
        return None
    request.user = token.owner  # as DRF would set it, for the middleware after the view
    response = common.conditional(request, snapshot.content, snapshot.etag, headers=common.source_headers(snapshot, "snapshot"))
    response["Allow"] = _ALLOW
    return response


def snapshot_view() -> Callable[[HttpRequest], HttpResponse]:
    """The snapshot URL's view: `_poll_fast` first, FlagSnapshotApi for everything else.

    Why: SDKs poll this endpoint more than everything else together, and DRF's dispatch (Request wrapper,
    negotiation, permission and throttle objects) costs several times the snapshot itself (docs/FLAGS.md,
    bench/snapshot_http.py). The attributes below make the function look like FlagSnapshotApi.as_view() to
    drf-spectacular and to Django's CSRF middleware, so the schema and behaviour stay those of the class.
    """
    drf_view = FlagSnapshotApi.as_view()

    def view(request: HttpRequest) -> HttpResponse:
        response = _poll_fast(request)
        return response if response is not None else drf_view(request)

    view.cls = drf_view.cls  # type: ignore[attr-defined]  # read by drf-spectacular's endpoint enumerator
    view.initkwargs = drf_view.initkwargs  # type: ignore[attr-defined]  # idem
    view.csrf_exempt = True  # type: ignore[attr-defined]  # token-authenticated like every API view
    return view


class FlagEvaluateApi(FlagDeliveryApi):
    class Input(serializers.Serializer):
        service = serializers.CharField(max_length=63)
        environment = serializers.CharField(max_length=63)
        context = serializers.DictField(  # type: ignore[assignment]  # DRF pops declared fields off the class
            required=False, default=dict, help_text="Unleash context: userId, sessionId, remoteAddress, properties…")
        flags = serializers.ListField(child=serializers.CharField(max_length=200), required=False, max_length=500,
                                      help_text="Keys to evaluate; all flags when left out.")

    class ResultOutput(serializers.Serializer):
        key = serializers.CharField()
        value = serializers.JSONField(allow_null=True)
        enabled = serializers.BooleanField()
        variant = serializers.DictField()
        reason = serializers.CharField()
        error_code = serializers.CharField(allow_null=True)
        error_message = serializers.CharField(allow_null=True)
        revision = serializers.IntegerField(allow_null=True)

    class Output(serializers.Serializer):
        service = serializers.CharField()
        environment = serializers.CharField()
        revision = serializers.IntegerField(allow_null=True)
        source = serializers.CharField(  # type: ignore[assignment]  # DRF pops declared fields off the class
            help_text="database, cache, memory, lkg-file or break-glass")
        degraded = serializers.BooleanField(help_text="True when answered from a fallback layer (reasons CACHED/STALE).")
        flags = serializers.DictField(child=serializers.DictField())

    @extend_schema(request=Input, responses={200: Output}, summary="Evaluate flags on the server for a context")
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        snapshot = common.snapshot_for(request, params["service"], params["environment"])
        keys = params.get("flags") or sorted(snapshot.state.features)
        results = {key: delivery.resolve(snapshot, key, params["context"]).to_dict() for key in keys}
        body = {"service": snapshot.service, "environment": snapshot.environment, "revision": snapshot.revision,
                "source": snapshot.source, "degraded": snapshot.degraded, "flags": results}
        return Response(body, headers=common.source_headers(snapshot, "evaluate"))


class FlagHeartbeatApi(FlagDeliveryApi):
    class Input(serializers.Serializer):
        instance_id = serializers.CharField(max_length=100)
        service = serializers.CharField(max_length=63)
        environment = serializers.CharField(max_length=63)
        revision = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**63 - 1)
        sdk_version = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
        capabilities = serializers.ListField(child=serializers.CharField(max_length=30), required=False,
                                             max_length=20, default=list,
                                             help_text='Hooks the SDK has loaded, e.g. ["chaos-http", "chaos-db"].')

    @extend_schema(request=Input, responses={204: None}, summary="An SDK instance reports the revision it serves")
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        try:
            service = Service.objects.filter(slug=params["service"]).first()
            environment = Environment.objects.filter(slug=params["environment"]).first()
            if service is None or environment is None:
                raise NotFound(f"Unknown service '{params['service']}' or environment '{params['environment']}'.")
            check_token_target(request, service=service, environment=environment)
            services.record_sdk_heartbeat(instance_id=params["instance_id"], service=service, environment=environment,
                                          revision=params.get("revision"), sdk_version=params["sdk_version"],
                                          capabilities=params["capabilities"])
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable("Heartbeat not recorded: the database is unreachable.") from exc
        return Response(status=204)
