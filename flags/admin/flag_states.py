"""Flags with their per-environment states (filters, the state inline, rollout forms, state actions) and segments."""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from flags import ops_console, queries, services
from flags.models import (
    Flag,
    FlagState,
    Segment,
)
from flags.rollout_form import ROLLOUT_FIELDS, FlagStateForm
from governance.admin_tools import AuditedAdmin, confirm_with_reason
from governance.models import Environment

# --- filters -------------------------------------------------------------------------------------------


class EnvironmentStateFilter(admin.SimpleListFilter):
    title = "environment state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(f"{slug}:{on}", f"{'on' if on == 'on' else 'off'} in {slug}")
                for slug in Environment.objects.values_list("slug", flat=True) for on in ("on", "off")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value or ":" not in value:
            return queryset
        slug, on = value.split(":", 1)
        return queryset.filter(states__environment__slug=slug, states__enabled=(on == "on"))


class StaleFilter(admin.SimpleListFilter):
    title = "stale"
    parameter_name = "stale"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "stale"), ("no", "not stale")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() not in ("yes", "no"):
            return queryset
        ids = queries.stale_flag_ids()
        return queryset.filter(pk__in=ids) if self.value() == "yes" else queryset.exclude(pk__in=ids)


class ArchivedFilter(admin.SimpleListFilter):
    title = "archived"
    parameter_name = "archived"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("archived", "archived")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "archived":
            return queryset.filter(archived_at__isnull=False)
        if self.value() == "active":
            return queryset.filter(archived_at__isnull=True)
        return queryset


# --- flags ---------------------------------------------------------------------------------------------


class FlagStateInline(admin.TabularInline):
    model = FlagState
    extra = 0
    can_delete = False
    fields = ("environment", "summary", "revision", "expires_at", "updated_at", "edit")
    readonly_fields = fields
    ordering = ["environment__order"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only here; each state is changed on its own page, through the services

    @admin.display(description="state")
    def summary(self, state: FlagState) -> str:
        return ops_console.summary(state)

    @admin.display(description="")
    def edit(self, state: FlagState) -> str:
        return format_html('<a href="{}">change</a> · <a href="{}">history</a>',
                           reverse("admin:flags_flagstate_change", args=[state.pk]),
                           reverse("admin:flags_flagstate_history", args=[state.pk]))


@admin.register(Flag)
class FlagAdmin(AuditedAdmin):
    list_display = ["key", "service", "kind", "value_type", "owner", "environments", "stale", "archived_at"]
    list_filter = ["service", "kind", EnvironmentStateFilter, StaleFilter, ArchivedFilter]
    search_fields = ["key", "description", "owner"]
    list_select_related = ["service"]
    inlines = [FlagStateInline]
    actions = ["archive"]
    change_list_template = "admin/flags/flag/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("states__environment")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fixed = ["is_builtin", "created_at", "archived_at"]
        return fixed if obj is None else ["service", "key", "value_type", *fixed]

    @admin.display(description="environments")
    def environments(self, flag: Flag) -> str:
        states = sorted(flag.states.all(), key=lambda s: s.environment.order)
        return format_html_join(" · ", "{}: {}", ((s.environment.slug, ops_console.summary(s)) for s in states))

    _stale_ids: set[int] | None = None  # computed once per changelist page

    @admin.display(description="stale")
    def stale(self, flag: Flag) -> str:
        # Stale is a warning (amber); not stale is no news, so the cell stays empty (no red cross).
        ids = self._stale_ids
        if ids is None:
            ids = self._stale_ids = queries.stale_flag_ids()
        if flag.pk not in ids:
            return ""
        return format_html('<span class="verdict verdict-stale" title="{}">stale</span>',
                           "Past its expected lifetime or unchanged for long: see the stale report.")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        self._stale_ids = None
        return super().changelist_view(request, extra_context)

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        data = form.cleaned_data
        if not change:
            created = services.create_flag(
                service=data["service"], key=data["key"], kind=data["kind"], value_type=data["value_type"],
                owner=data.get("owner", ""), description=data.get("description", ""),
                expected_lifetime_days=data.get("expected_lifetime_days"), failure_mode=data["failure_mode"],
                min_value=data.get("min_value"), max_value=data.get("max_value"), max_step=data.get("max_step"),
                actor=request.user, reason=reason)
            obj.pk = created.pk
            return
        fields = {f: data[f] for f in form.changed_data if f not in ("reason",)}
        if fields:
            services.update_flag(flag=obj, actor=request.user, reason=reason, **fields)

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return self.inlines if obj is not None else []  # states are created by the service with the flag

    @admin.action(description="Archive selected flags", permissions=["change"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Flag]) -> HttpResponse | None:
        def apply(flag: Flag, reason: str) -> None:
            services.archive_flag(flag=flag, actor=request.user, reason=reason)

        return confirm_with_reason(
            self, request, queryset, title="Archive flags", action="archive",
            warning="Archived flags leave every snapshot: SDKs answer them from their code defaults.", apply=apply,
        )

    # --- ops console and reports ---------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        def view(function: Any) -> Any:
            return self.admin_site.admin_view(functools.partial(function, self))

        return [
            path("ops/", view(ops_console.ops_index), name="flags_ops_index"),
            path("ops/<slug:service>/", view(ops_console.ops_console), name="flags_ops_console"),
            path("ops/<slug:service>/<int:state_id>/<str:action>/", view(ops_console.ops_action),
                 name="flags_ops_action"),
            path("stale/", view(ops_console.stale_report), name="flags_stale_report"),
            *super().get_urls(),
        ]


# --- per-environment states ---------------------------------------------------------------------------


@admin.register(FlagState)
class FlagStateAdmin(AuditedAdmin):
    form = FlagStateForm
    list_display = ["flag", "environment", "summary", "revision", "expires_at", "updated_at"]
    list_filter = ["environment", "flag__service", "flag__kind"]
    search_fields = ["flag__key"]
    list_select_related = ["flag", "flag__service", "environment"]
    readonly_fields = ["flag", "environment", "revision", "expires_at", "revert_to", "updated_at", "propagation"]
    # The fields edit the common rollout; the JSON stays for the rest (flags/rollout_form.py says which is saved).
    fieldsets = [
        (None, {"fields": ["flag", "environment", "enabled", "number", "seen_revision"]}),
        ("Rollout", {"fields": ROLLOUT_FIELDS,
                     "description": "The common rollout as fields. Change either these or the advanced JSON in one "
                                    "save: the one you changed is saved; changing both is refused."}),
        ("Advanced JSON", {"fields": ["strategies", "variants", "dependencies"], "classes": ["collapse"],
                           "description": "Unleash JSON for what the fields cannot say (segments, other strategies, "
                                          "overrides…)."}),
        ("Revision", {"fields": ["revision", "expires_at", "revert_to", "updated_at", "propagation"]}),
    ]

    @admin.display(description="propagation of this revision")
    def propagation(self, state: FlagState) -> str:
        found = queries.propagation(state)
        lines = [(str(found),)] + [
            (f"{instance}: {at:%H:%M:%S} (+{(at - state.updated_at).total_seconds():.1f} s)",)
            for instance, at in found.receipts[:50]]
        return format_html_join("", "{}<br>", lines)

    @admin.display(description="state")
    def summary(self, state: FlagState) -> str:
        return ops_console.summary(state)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # states are created with their flag

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # a revert would skip the exposure rules: change the state through its form instead

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            form.base_fields["seen_revision"].initial = obj.revision
        return form

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        data, changed = form.cleaned_data, set(form.changed_data)
        seen = data.get("seen_revision")
        outcomes = []
        try:
            if form.definition_changed:  # from the fields or the JSON, whichever the form took
                outcomes.append(services.set_strategies(
                    state=obj, strategies=data["strategies"], variants=data["variants"],
                    dependencies=data["dependencies"], actor=request.user, reason=reason, expected_revision=seen))
                seen = None
            if "number" in changed and data["number"] is not None:
                outcomes.append(services.set_number(state=obj, number=data["number"], actor=request.user,
                                                    reason=reason, expected_revision=seen))
                seen = None
            if "enabled" in changed:
                outcomes.append(services.set_enabled(state=obj, enabled=data["enabled"], actor=request.user,
                                                     reason=reason, expected_revision=seen))
        except (services.StaleRevision, ValidationError) as exc:
            # One refused part undoes the parts before it (the form is saved whole or not at all).
            transaction.set_rollback(True)
            error = "; ".join(getattr(exc, "messages", [str(exc)]))
            request._flags_error = error  # type: ignore[attr-defined]  # read by response_change
            return
        for outcome in outcomes:
            self.message_user(request, outcome.message,
                              messages.SUCCESS if outcome.applied else messages.WARNING)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, "_flags_error", None):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        error = getattr(request, "_flags_error", None)
        if error:
            self.message_user(request, f"Not saved: {error}", messages.ERROR)
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect(reverse("admin:flags_flag_change", args=[obj.flag_id]))


@admin.register(Segment)
class SegmentAdmin(AuditedAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        services.save_segment(segment=obj, actor=request.user, reason=reason)


