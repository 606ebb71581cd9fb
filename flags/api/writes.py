"""Changing flags through the API (incident tooling, CI): list the states, apply one change, follow a request.

Views parse and call the same services as the admin and the ops console (`flags.services`), so the
exposure rules, the revision check and the audit record (the token's owner as actor, the reason
prefixed with the token's name) are theirs: a change that reduces exposure applies at once (200); one
that widens it where a second person is needed becomes a change request (202, `Location` = its status);
a stale `expected_revision` is 409 naming the current revision.

These views use the portal's ordinary token authentication and shared-cache throttle (writes need the
database anyway), not the delivery endpoints' cached ones.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from govctl.flags import flag_ops
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from flags import expiry, operations, queries, services
from flags.models import ChangeRequest, FlagState
from governance.api.idempotency import idempotent
from governance.api.permissions import (
    api_reason,
    check_portal_flags,
    check_token_target,
    request_token,
    target_environment,
    target_service,
)
from governance.models import Environment, Scope
from governance.reasons import ReasonSerializerField

OPERATIONS = flag_ops.OPERATIONS  # the one vocabulary (govctl.flags.flag_ops), shared with the console and govctl
MAX_EXPIRY_MINUTES = int(expiry.MAX_DURATION.total_seconds() // 60)  # flags.expiry's limit


class FlagStateOutput(serializers.Serializer):
    service = serializers.CharField(source="flag.service.slug")
    environment = serializers.CharField(source="environment.slug")
    key = serializers.CharField(source="flag.key")
    kind = serializers.CharField(source="flag.kind")
    value_type = serializers.CharField(source="flag.value_type")
    enabled = serializers.BooleanField()
    number = serializers.FloatField(allow_null=True, help_text="Number flags: the value served.")
    strategies = serializers.JSONField()
    variants = serializers.JSONField()
    dependencies = serializers.JSONField()
    revision = serializers.IntegerField(help_text="Send it back as expected_revision to refuse lost updates.")
    expires_at = serializers.DateTimeField(allow_null=True,
                                           help_text="Emergency toggle: when it reverts on its own.")
    updated_at = serializers.DateTimeField()
    pending_change_requests = serializers.IntegerField()


class ChangeRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField(source="state.flag.service.slug")
    environment = serializers.CharField(source="state.environment.slug")
    key = serializers.CharField(source="state.flag.key")
    status = serializers.CharField(help_text="pending, applied, rejected or failed")
    operation = serializers.CharField()
    payload = serializers.JSONField()
    base_revision = serializers.IntegerField()
    author = serializers.CharField(source="author.username")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="This request's status (the 202's Location).")
    admin_url = serializers.SerializerMethodField(help_text="Where a second person approves or rejects it.")

    def get_url(self, change_request: ChangeRequest) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("api-flags-change-request", args=[change_request.pk]))

    def get_admin_url(self, change_request: ChangeRequest) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("admin:flags_changerequest_change", args=[change_request.pk]))


class FlagListApi(APIView):
    required_scopes = Scope.FLAGS_READ.value

    class Input(serializers.Serializer):
        service = serializers.SlugField(max_length=63)
        environment = serializers.SlugField(max_length=63, required=False,
                                            help_text="Left out: every environment the token may see.")

    class Output(serializers.Serializer):
        service = serializers.CharField()
        flags = FlagStateOutput(many=True, help_text="One entry per active flag and environment.")

    @extend_schema(parameters=[Input], responses=Output,
                   summary="A service's flags with their state per environment (revision, expiry, pending requests)")
    def get(self, request: Request) -> Response:
        data = self.Input(data=request.query_params)
        data.is_valid(raise_exception=True)
        service = target_service(request, data.validated_data["service"])
        if "environment" in data.validated_data:
            environments: list[Environment] | None = [target_environment(request, data.validated_data["environment"])]
        else:
            environments = list(request_token(request).environments.all()) or None
        states = queries.states_for_api(service=service, environments=environments)
        return Response(self.Output({"service": service.slug, "flags": states}).data)


def _list_of_objects(value: Any, name: str) -> None:
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise serializers.ValidationError({"payload": f"'{name}' must be a list of objects."})


class FlagChangeInput(serializers.Serializer):
    operation = serializers.ChoiceField(
        choices=list(OPERATIONS),
        error_messages={"invalid_choice": f"'{{input}}' is not an operation; use one of {', '.join(OPERATIONS)}."})
    payload = serializers.JSONField(
        required=False, default=dict,
        help_text='set_strategies: {"strategies"?, "variants"?, "dependencies"?} (Unleash format); '
                  'set_number: {"number"}; other operations take none.')
    reason = ReasonSerializerField()
    expires_in_minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_EXPIRY_MINUTES,
        help_text="engage_kill_switch / enter_maintenance: revert on its own after this long "
                  "(maintenance: 30 minutes when left out; kill switch: until disengaged).")
    expected_revision = serializers.IntegerField(
        required=False, allow_null=True, min_value=0,
        help_text="The revision you read; the change is refused (409) if the state changed since.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        operation, payload = attrs["operation"], attrs["payload"]
        accepted, takes_expiry = OPERATIONS[operation].payload, OPERATIONS[operation].takes_expiry
        if not isinstance(payload, Mapping):
            raise serializers.ValidationError({"payload": "Give a JSON object."})
        unknown = sorted(set(payload) - accepted)
        if unknown:
            takes = f"takes {', '.join(sorted(accepted))}" if accepted else "takes no payload"
            raise serializers.ValidationError({"payload": f"{operation} {takes} (got {', '.join(unknown)})."})
        if operation == "set_strategies":
            if not payload:
                raise serializers.ValidationError({"payload": "Give strategies, variants or dependencies."})
            for name in accepted & set(payload):
                _list_of_objects(payload[name], name)
        if operation == "set_number":
            number = payload.get("number")
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise serializers.ValidationError({"payload": "set_number needs {\"number\": <a number>}."})
        if attrs.get("expires_in_minutes") is not None and not takes_expiry:
            raise serializers.ValidationError(
                {"expires_in_minutes": f"{operation} does not expire; only "
                                       f"{' and '.join(n for n, o in OPERATIONS.items() if o.takes_expiry)} "
                                       "take an expiry."})
        return attrs


class FlagChangeOutput(serializers.Serializer):
    applied = serializers.BooleanField(help_text="False: a change request waits for a second person.")
    message = serializers.CharField()
    state = FlagStateOutput(help_text="The state now (unchanged when a change request was made).")
    change_request = ChangeRequestOutput(allow_null=True)


def _locate(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """A 202 carries `Location` (its change request's status), on a replay of a remembered answer too."""

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = view_method(self, request, *args, **kwargs)
        if response.status_code == 202 and isinstance(response.data, Mapping):
            response["Location"] = response.data["change_request"]["url"]
        return response

    return wrapper


def _run(state: FlagState, values: dict[str, Any], *, actor: Any, reason: str) -> services.Outcome:
    minutes = values.get("expires_in_minutes")
    return operations.perform(state=state, operation=values["operation"], payload=values["payload"], actor=actor,
                              reason=reason, expected_revision=values.get("expected_revision"),
                              expires_in=timedelta(minutes=minutes) if minutes else None)


class FlagChangeApi(APIView):
    """One change to a flag in one environment, through the services the admin uses."""

    required_scopes = Scope.FLAGS_WRITE.value
    write_reach = "environment"

    @extend_schema(
        request=FlagChangeInput,
        responses={
            200: OpenApiResponse(FlagChangeOutput, description="Applied: the new state and revision."),
            202: OpenApiResponse(FlagChangeOutput, description=(
                "The change widens exposure where a second person must approve it: a change request was made "
                "(Location: its status). Its author, the token's owner, cannot approve it.")),
            400: OpenApiResponse(description="Invalid change (problem JSON with the service's message)."),
            403: OpenApiResponse(description=("The token lacks flags:write, is restricted to other targets, or "
                                              "lacks portal:operate for the portal's own flags.")),
            404: OpenApiResponse(description="Unknown service, environment or flag."),
            409: OpenApiResponse(description=(
                "expected_revision is stale: problem JSON with current_revision; reload and decide again.")),
        },
        summary="Change a flag in an environment (idempotent with Idempotency-Key)",
    )
    @_locate
    @idempotent
    def post(self, request: Request, service: str, environment: str, key: str) -> Response:
        data = FlagChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        target = target_service(request, service)
        check_portal_flags(request, target)
        env = target_environment(request, environment)
        state = (FlagState.objects.select_related("flag", "flag__service", "environment")
                 .filter(flag__service=target, environment=env, flag__key=key).first())
        if state is None:
            raise exceptions.NotFound(f"{target.slug} has no flag '{key}' in {env.slug}.")
        reason = api_reason(request, data.validated_data["reason"])
        outcome = _run(state, data.validated_data, actor=request.user, reason=reason)  # stale: 409 (errors.py)
        current = queries.states_for_api(service=target, environments=[env], pk=state.pk)[0]
        context = {"request": request}
        body = {"applied": outcome.applied, "message": outcome.message,
                "state": FlagStateOutput(current, context=context).data,
                "change_request": (ChangeRequestOutput(outcome.change_request, context=context).data
                                   if outcome.change_request else None)}
        return Response(body, status=200 if outcome.applied else 202)


class ChangeRequestDetailApi(APIView):
    required_scopes = Scope.FLAGS_READ.value

    @extend_schema(responses=ChangeRequestOutput, summary="A flag change request: pending, applied, rejected or failed")
    def get(self, request: Request, pk: int) -> Response:
        change_request = (ChangeRequest.objects.select_related("state__flag__service", "state__environment", "author",
                                                               "decided_by").filter(pk=pk).first())
        if change_request is None:
            raise exceptions.NotFound(f"No change request #{pk}.")
        check_token_target(request, service=change_request.state.flag.service,
                           environment=change_request.state.environment)
        return Response(ChangeRequestOutput(change_request, context={"request": request}).data)
