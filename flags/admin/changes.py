"""Change requests (four-eyes, read-only rows with actions) and scheduled changes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Case, QuerySet, When
from django.http import HttpRequest, HttpResponse

from flags import queries, services
from flags.models import (
    ChangeRequest,
    ScheduledChange,
)
from governance.admin_tools import AuditedAdmin, confirm_with_reason

# --- change requests and scheduled changes ------------------------------------------------------------


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyMixin, AuditedAdmin):
    list_display = ["id", "state", "operation_in_words", "change", "author", "reason", "status", "created_at",
                    "decided_by"]
    list_filter = ["status", "operation", "state__environment", "state__flag__service"]
    list_select_related = ["state__flag__service", "state__environment", "author", "decided_by"]
    search_fields = ["state__flag__key", "reason"]
    actions = ["approve", "reject"]
    readonly_fields = ["state", "operation", "payload", "base_revision", "author", "reason", "status", "decided_by",
                       "decided_at", "message", "created_at"]
    fields = readonly_fields
    change_form_template = "admin/flags/changerequest/change_form.html"

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        change_request = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if change_request is not None:
            context.update(change_request=change_request, change_request_decision=self._decision(change_request),
                           can_decide=super().has_change_permission(request)
                           and change_request.status == ChangeRequest.Status.PENDING)
        return super().change_view(request, object_id, form_url, extra_context=context)

    @staticmethod
    def _decision(change_request: ChangeRequest) -> dict[str, Any]:
        return {"change_request": change_request, "words": change_request.operation_in_words,
                "diff": queries.change_request_diff(change_request),
                "moved_on": change_request.state.revision != change_request.base_revision}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        pending_first = Case(When(status=ChangeRequest.Status.PENDING, then=0), default=1)
        return super().get_queryset(request).order_by(pending_first, "-created_at")

    @admin.display(description="operation")
    def operation_in_words(self, change_request: ChangeRequest) -> str:
        return change_request.operation_in_words

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Approve/reject actions need the change permission; a request itself is never edited.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="change")
    def change(self, request_: ChangeRequest) -> str:
        return "; ".join(f"{field}: {before} → {after}" if len(before) + len(after) < 100 else f"{field} changes"
                         for field, before, after in queries.change_request_diff(request_)) or request_.operation_in_words

    @admin.action(description="Approve and apply selected requests", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[ChangeRequest]) -> HttpResponse | None:
        def apply(change_request: ChangeRequest, reason: str) -> str:
            done = services.approve_change_request(change_request=change_request, actor=request.user, reason=reason)
            return f"#{done.pk}: {done.message}"

        return confirm_with_reason(self, request, queryset, title="Approve change requests", action="approve",
                                   warning="Each change is applied at once; its author cannot approve it.",
                                   apply=apply, template="admin/flags/changerequest/confirm.html",
                                   extra_context={"decisions": [self._decision(c) for c in queryset]})

    @admin.action(description="Reject selected requests", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[ChangeRequest]) -> HttpResponse | None:
        def apply(change_request: ChangeRequest, reason: str) -> None:
            services.reject_change_request(change_request=change_request, actor=request.user, reason=reason)

        return confirm_with_reason(self, request, queryset, title="Reject change requests", action="reject",
                                   apply=apply, template="admin/flags/changerequest/confirm.html",
                                   extra_context={"decisions": [self._decision(c) for c in queryset]})


class ScheduledChangeForm(forms.ModelForm):
    class Meta:
        model = ScheduledChange
        fields = ["state", "operation", "payload", "run_at"]
        help_texts = {"payload": '{"enabled": true}, {"number": 1.5} or {"strategies": [...]}'}


@admin.register(ScheduledChange)
class ScheduledChangeAdmin(AuditedAdmin):
    form = ScheduledChangeForm
    list_display = ["id", "state", "operation", "run_at", "author", "status", "approved_by", "message"]
    list_filter = ["status", "operation", "state__environment"]
    list_select_related = ["state__flag__service", "state__environment", "author", "approved_by"]
    actions = ["approve", "cancel"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["state", "operation", "payload", "run_at", "base_revision", "author", "reason", "status",
                "approved_by", "message", "created_at"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return super().get_fieldsets(request, obj)
        return [(None, {"fields": self.get_readonly_fields(request, obj)})]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The list's actions need the change permission; a planned change itself is read-only.
        return obj is None and super().has_change_permission(request)

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        data = form.cleaned_data
        created = services.schedule_change(state=data["state"], operation=data["operation"], payload=data["payload"],
                                           run_at=data["run_at"], actor=request.user, reason=reason)
        obj.pk = created.pk

    @admin.action(description="Approve selected scheduled changes", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[ScheduledChange]) -> HttpResponse | None:
        def apply(change: ScheduledChange, reason: str) -> None:
            services.approve_scheduled_change(change=change, actor=request.user, reason=reason)

        return confirm_with_reason(self, request, queryset, title="Approve scheduled changes", action="approve",
                                   apply=apply)

    @admin.action(description="Cancel selected scheduled changes", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[ScheduledChange]) -> HttpResponse | None:
        def apply(change: ScheduledChange, reason: str) -> None:
            services.cancel_scheduled_change(change=change, actor=request.user, reason=reason)

        return confirm_with_reason(self, request, queryset, title="Cancel scheduled changes", action="cancel",
                                   apply=apply)


