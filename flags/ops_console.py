"""The ops console: operational flags per environment, engage/disengage with a confirmation and a reason.

Views of FlagAdmin (its get_urls mounts them under /admin/flags/flag/ops/ and /stale/); they only read
through flags.queries and change through flags.services.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from govctl.flags import flag_ops

from flags import expiry, operations, queries, services
from flags.models import FlagState, Kind, ValueType
from governance.models import Service
from governance.reasons import ReasonFormField


def summary(state: FlagState) -> str:
    """One environment's state in a few words: off, on, on 30%, 1.5 …"""
    if not state.enabled:
        return "off"
    if state.flag.value_type == ValueType.NUMBER and state.number is not None:
        return f"{state.number:g}"
    rollouts = [s.get("parameters", {}).get("rollout") for s in state.strategies or []
                if s.get("name") == "flexibleRollout"]
    if rollouts:
        return "on " + "/".join(f"{r}%" for r in rollouts)
    return "on (targeted)" if state.strategies else "on"


def _context(model_admin: Any, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    return {**model_admin.admin_site.each_context(request), "title": title, "opts": model_admin.model._meta, **extra}


def ops_index(model_admin: Any, request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("flags.view_flagstate"):
        raise PermissionDenied
    return TemplateResponse(request, "admin/flags/ops_index.html",
                            _context(model_admin, request, "Ops console", services=Service.objects.all()))


def ops_console(model_admin: Any, request: HttpRequest, service: str) -> HttpResponse:
    if not request.user.has_perm("flags.view_flagstate"):
        raise PermissionDenied
    service_row = get_object_or_404(Service, slug=service)
    rows: dict[int, dict[str, Any]] = {}
    states = list(queries.operational_states(service=service_row))
    pending = queries.pending_requests_by_state(states)
    for state in states:
        env = rows.setdefault(state.environment_id, {
            "environment": state.environment, "states": [],
            "applied": queries.applied(service=service_row, environment=state.environment)})
        env["states"].append({"state": state, "summary": summary(state), "last": queries.last_toggle(state),
                              "pending": pending.get(state.pk, []), "actions": _ops_actions(state)})
    return TemplateResponse(request, "admin/flags/ops_console.html", _context(
        model_admin, request, f"Ops console: {service_row.slug}", service=service_row, environments=list(rows.values()),
        can_change=request.user.has_perm("flags.change_flagstate")))


def ops_action(model_admin: Any, request: HttpRequest, service: str, state_id: int, action: str) -> HttpResponse:
    if not request.user.has_perm("flags.change_flagstate"):
        raise PermissionDenied
    state = queries.served([get_object_or_404(FlagState.objects.select_related("flag", "environment", "flag__service"),
                                              pk=state_id, flag__service__slug=service)])[0]
    op = next((o for o in _operations(state) if o.verb == action), None)
    if op is None:
        messages.error(request, f"'{action}' does not apply to {state}.")
        return HttpResponseRedirect(reverse("admin:flags_ops_console", args=[service]))
    form_class = OpsNumberForm if op.name == flag_ops.SET_NUMBER else OpsToggleForm
    initial: dict[str, Any] = {"revision": state.revision}
    if op.name == flag_ops.MAINTENANCE_ON:
        initial["expires_in_minutes"] = int(expiry.DEFAULT_MAINTENANCE.total_seconds() // 60)
    if op.name == flag_ops.SET_NUMBER:
        initial["number"] = state.number
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = _run_ops_action(state, op, form.cleaned_data, request.user)
        except services.StaleRevision as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            form.add_error(None, "; ".join(exc.messages))
        else:
            messages.success(request, outcome.message)
            return HttpResponseRedirect(reverse("admin:flags_ops_console", args=[service]))
        if not form.errors:
            return HttpResponseRedirect(reverse("admin:flags_ops_console", args=[service]))
    return TemplateResponse(request, "admin/flags/ops_confirm.html", _context(
        model_admin, request, f"{op.title}: {state.flag.key} in {state.environment.slug}", state=state,
        action=action, form=form, summary=summary(state), service=state.flag.service,
        widens=state.environment.requires_second_person and action == "disengage"))


def stale_report(model_admin: Any, request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("flags.view_flag"):
        raise PermissionDenied
    return TemplateResponse(request, "admin/flags/stale_report.html",
                            _context(model_admin, request, "Stale flags", stale=queries.stale_flags()))


def _operations(state: FlagState) -> list[flag_ops.FlagOperation]:
    return flag_ops.console_operations(key=state.flag.key, kill_switch=state.flag.kind == Kind.KILL_SWITCH,
                                       number=state.flag.value_type == ValueType.NUMBER, enabled=state.enabled)


def _ops_actions(state: FlagState) -> list[str]:
    return [op.verb for op in _operations(state)]


def _run_ops_action(state: FlagState, op: flag_ops.FlagOperation, data: dict[str, Any], actor: Any) -> services.Outcome:
    minutes = data.get("expires_in_minutes")
    payload = {"number": data["number"]} if op.name == flag_ops.SET_NUMBER else {}
    return operations.perform(state=state, operation=op.name, payload=payload, actor=actor, reason=data["reason"],
                              expected_revision=data["revision"],
                              expires_in=timedelta(minutes=minutes) if minutes else None)


class OpsToggleForm(forms.Form):
    reason = ReasonFormField()
    expires_in_minutes = forms.IntegerField(
        required=False, min_value=1, max_value=int(expiry.MAX_DURATION.total_seconds() // 60), label="Expires in (minutes)",
        help_text="Engaging only: it reverts on its own after this (empty = until someone turns it off).")
    revision = forms.IntegerField(widget=forms.HiddenInput)


class OpsNumberForm(forms.Form):
    number = forms.FloatField()
    reason = ReasonFormField()
    revision = forms.IntegerField(widget=forms.HiddenInput)

