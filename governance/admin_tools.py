"""Shared admin building blocks: a required reason on every edit, read-only history pages, and
confirm-with-reason actions. The admin site itself (atomic POSTs, the home) is `governance.admin_site`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from simple_history.admin import SimpleHistoryAdmin

from governance import services
from governance.audit_base import Audited
from governance.reasons import ReasonFormField

_M = TypeVar("_M", bound=Model)
_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


class ReasonForm(forms.Form):
    reason = ReasonFormField()


SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


class HistoryAdmin(SimpleHistoryAdmin):
    """simple-history's admin with read-only history pages, answering ids that are not ids without a 500.

    Reverting to a historical version is not a feature (`SIMPLE_HISTORY_REVERT_DISABLED`): simple-history's
    history record page saves whatever is posted to it after checking only the view permission, bypassing the
    model's service, its reason, its four-eyes rules and, for read-only rows, the history itself. Here the page
    only shows the old version; a POST is refused (403) before anything is read or written. An edit goes
    through the change page and the model's service.
    """

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            raise PermissionDenied("History pages are read-only: reverting to an old version is not possible.")
        if not _is_pk(self.model, unquote(object_id)) or not version_id.isdigit():
            raise Http404(f"No version {version_id!r} of {self.model._meta.verbose_name} {object_id!r}.")
        request._history_read_only = True  # type: ignore[attr-defined]  # read by get_form below
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True  # whatever the settings say: see the class's docstring

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any,
                 ) -> type[forms.ModelForm[Any]]:
        form = super().get_form(request, obj, change=change, **kwargs)
        if not getattr(request, "_history_read_only", False):
            return form

        class ReadOnly(form):  # type: ignore[misc,valid-type]  # a form class chosen at run time
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, **kw)
                for field in self.fields.values():
                    field.disabled = True

        return ReadOnly

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None,
                     ) -> HttpResponse:
        # simple-history looks the object up with the id as given: 'abc' for an integer key is a ValueError
        if not _is_pk(self.model, unquote(object_id)):
            raise Http404(f"No {self.model._meta.verbose_name} with id {object_id!r}.")
        return super().history_view(request, object_id, extra_context)

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if malformed_selection(self, request):
            return None
        return super().response_action(request, queryset)


def malformed_selection(modeladmin: admin.ModelAdmin, request: HttpRequest) -> bool:
    """True, with an error message, when a posted action selection holds a value that is no id: Django filters
    pk__in with the values as posted, and the ValueError would be a 500."""
    values = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
    if all(_is_pk(modeladmin.model, value) for value in values):
        return False
    modeladmin.message_user(request, "The selection holds a value that is not an id: nothing was done.",
                            messages.ERROR)
    return True


def _is_pk(model: type[Model], value: str) -> bool:
    try:
        model._meta.pk.to_python(value)
    except ValidationError:
        return False
    return True


class ReadOnlyMixin:
    """For rows only services write (tasks, CI, actions): the admin shows them, nobody adds, edits or deletes."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Read-only rows without history (audit events, exports, heartbeats, snapshots)."""


class ReadOnlyHistoryAdmin(ReadOnlyMixin, HistoryAdmin):
    """Read-only rows with their history."""


class AuditedAdmin(HistoryAdmin):
    """Edits need a reason and go through `services.save_audited` (override `save_via_service`)."""

    reason_field_help = "Why this change? Recorded in the audit trail."
    add_form: type[forms.ModelForm[Any]] | None = None  # the form of the add page, when it differs

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        if obj is None and self.add_form is not None:
            kwargs.setdefault("form", self.add_form)
        # "reason" is a form-only field: keep it out of the model form's field list.
        if "fields" not in kwargs:
            kwargs["fields"] = flatten_fieldsets(self.get_fieldsets(request, obj))
        if kwargs["fields"] is not None:  # None: Django is asking which fields the model form has
            kwargs["fields"] = [f for f in kwargs["fields"] if f != "reason"]
        form = super().get_form(request, obj, change=change, **kwargs)
        help_text = self.reason_field_help

        class WithReason(form):  # type: ignore[misc,valid-type]  # a form class chosen at run time
            reason = ReasonFormField(help_text=help_text)

        return WithReason

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        names = [f for _, opts in fieldsets for f in opts["fields"]]
        if "reason" not in names:
            fieldsets = [*fieldsets, ("Audit", {"fields": ["reason"]})]
        return fieldsets

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            if request.method != "POST":
                raise
            # The service refused what the form accepted (a rule only it knows, or one across rows). Django's
            # changeform_view is atomic, so nothing was written: say why instead of a 500.
            self.message_user(request, f"Not saved: {'; '.join(exc.messages)}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: Audited, form: Any, change: bool) -> None:
        self.save_via_service(request, obj, form, change, form.cleaned_data["reason"])

    def save_via_service(self, request: HttpRequest, obj: Audited, form: Any, change: bool, reason: str) -> None:
        fields = [f for f in form.changed_data if f != "reason" and f in {x.name for x in obj._meta.concrete_fields}]
        services.save_audited(instance=obj, actor=request.user, reason=reason, update_fields=fields or None)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # governed rows are archived or revoked through services, never deleted

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


def confirm_with_reason(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[_M],
    *,
    title: str,
    action: str,
    apply: Callable[[_M, str], str | None],
    warning: str = "",
    extra_form: type[forms.Form] | None = None,
    template: str = "admin/confirm_with_reason.html",
    extra_context: dict[str, Any] | None = None,
) -> HttpResponse | None:
    """Show a confirmation page asking for a reason; on POST apply `apply(obj, reason)` to each row.

    `apply` returns an optional message; a ValidationError is reported per row and the others go on.
    """
    form_class = extra_form or ReasonForm
    if "confirm" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            request._confirm_form = form  # type: ignore[attr-defined]  # lets apply() read extra fields
            done = 0
            for obj in queryset:
                try:
                    message = apply(obj, reason)
                except ValidationError as exc:
                    modeladmin.message_user(request, f"{obj}: {'; '.join(exc.messages)}", messages.ERROR)
                    continue
                done += 1
                if message:
                    modeladmin.message_user(request, message, messages.SUCCESS)
            if done:
                modeladmin.message_user(request, f"{title}: {done} done.", messages.SUCCESS)
            return None
    else:
        form = form_class()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": list(queryset),
        "form": form,
        "action": action,
        "warning": warning,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        **(extra_context or {}),  # an app's own facts for its own template (e.g. the release gate)
    }
    return TemplateResponse(request, template, context)
