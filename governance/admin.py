"""Admin for the core: services, environments, API tokens, and the merged audit timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from axes import admin as axes_admin
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from governance import services
from governance.admin_tools import AuditedAdmin, ReadOnlyAdmin, confirm_with_reason, malformed_selection
from governance.models import ApiToken, AuditEvent, AuditExport, Environment, Heartbeat, Scope, Service


@admin.register(Service)
class ServiceAdmin(AuditedAdmin):
    list_display = ["slug", "name", "owners", "deploy_provider", "created_at"]
    search_fields = ["slug", "name", "owners"]
    list_filter = ["deploy_provider"]

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        if change:
            super().save_via_service(request, obj, form, change, reason)
            return
        fields = {f: form.cleaned_data[f] for f in ("repository_url", "owners", "deploy_provider", "deploy_settings")
                  if f in form.cleaned_data}
        created = services.create_service(slug=obj.slug, name=obj.name, actor=request.user, reason=reason, **fields)
        obj.pk = created.pk


@admin.register(Environment)
class EnvironmentAdmin(AuditedAdmin):
    list_display = ["slug", "name", "order", "is_production", "requires_second_person"]
    ordering = ["order"]


class TokenAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["name", "owner", "scopes", "services", "environments", "expires_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The README's promise: a new token expires after API_TOKEN_DEFAULT_DAYS unless the form says otherwise.
        self.fields["expires_at"].initial = lambda: timezone.now() + timedelta(days=settings.API_TOKEN_DEFAULT_DAYS)


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ["name", "prefix", "owner", "scope_list", "state", "expires_at", "last_used_at"]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["name", "prefix", "owner__username"]
    list_select_related = ["owner"]
    actions = ["rotate", "revoke"]
    reason_field_help = "What the token is for and who asked for it. Recorded in the audit trail."
    add_form = TokenAddForm

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The change form is read-only (rotate/revoke actions, which need the change permission, change tokens).
        if obj is None:
            return []
        return ["name", "owner", "prefix", "scopes", "services", "environments", "created_at", "expires_at",
                "last_used_at", "revoked_at", "rotated_to"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["name", "owner", "scopes", "services", "environments", "expires_at"]}),
                    ("Audit", {"fields": ["reason"]})]
        return [(None, {"fields": self.get_readonly_fields(request, obj)})]

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        issued = services.create_token(
            name=form.cleaned_data["name"], owner=form.cleaned_data["owner"], scopes=form.cleaned_data["scopes"],
            services=form.cleaned_data["services"], environments=form.cleaned_data["environments"],
            expires_at=form.cleaned_data["expires_at"], actor=request.user, reason=reason,
        )
        obj.pk = issued.token.pk
        request._issued_tokens = [issued]  # type: ignore[attr-defined]  # read back by response_add

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # the service set the restrictions

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: str | None = None) -> HttpResponse:
        issued = request._issued_tokens  # type: ignore[attr-defined]  # set in save_via_service
        return self._show_secrets(request, issued)

    def _show_secrets(self, request: HttpRequest, issued: list[Any]) -> HttpResponse:
        # Rendered straight into this response: the secret never goes through messages, sessions or logs.
        context = {**self.admin_site.each_context(request), "title": "Copy the token now", "issued": issued,
                   "opts": self.model._meta}
        response = TemplateResponse(request, "admin/token_issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.display(description="scopes")
    def scope_list(self, token: ApiToken) -> str:
        return ", ".join(token.scopes)

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        if token.revoked_at:
            return "revoked"
        if not token.is_active():
            return "expired"
        return "rotated (grace)" if token.rotated_to_id else "active"

    @admin.action(description="Rotate selected tokens (old ones stay valid for the grace period)",
                  permissions=["change"])
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> HttpResponse | None:
        issued: list[Any] = []

        def apply(token: ApiToken, reason: str) -> None:
            issued.append(services.rotate_token(token=token, actor=request.user, reason=reason))

        response = confirm_with_reason(self, request, queryset, title="Rotate tokens", action="rotate", apply=apply)
        if response is None and issued:
            return self._show_secrets(request, issued)
        return response

    @admin.action(description="Revoke selected tokens now", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> HttpResponse | None:
        def apply(token: ApiToken, reason: str) -> None:
            services.revoke_token(token=token, actor=request.user, reason=reason)

        return confirm_with_reason(
            self, request, queryset, title="Revoke tokens", action="revoke",
            warning="Clients using these tokens will get 401 at once.", apply=apply,
        )


class ServiceFilter(admin.SimpleListFilter):
    title = "service"
    parameter_name = "service"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), slug) for pk, slug in Service.objects.values_list("pk", "slug")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(service_id=int(value))
        except ValueError:  # a hand-written ?service=abc: Django shows the list with its "invalid filter" notice
            raise IncorrectLookupParameters(f"Unknown service id {value!r}.") from None


class ModelFilter(admin.SimpleListFilter):
    title = "model"
    parameter_name = "model"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from django.apps import apps

        from governance.audit_base import Audited

        return sorted((m._meta.label_lower, str(m._meta.verbose_name).capitalize() + f" ({m._meta.app_label})")
                      for m in apps.get_models() if issubclass(m, Audited))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(model=self.value()) if self.value() else queryset


class ActorFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = AuditEvent.objects.order_by().values_list("actor_name", flat=True).distinct()[:200]
        return [(n, n) for n in sorted(names) if n]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(actor_name=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit timeline: every change to every governed model, newest first."""

    list_display = ["at", "actor_name", "model", "object_repr", "change", "reason", "diff"]
    list_filter = [ActorFilter, ModelFilter, ServiceFilter, "change", ("at", admin.DateFieldListFilter)]
    search_fields = ["=object_id", "object_repr", "reason"]
    date_hierarchy = "at"
    list_per_page = 50
    show_full_result_count = False  # no second COUNT(*) over the whole table on each page
    readonly_fields = ("at", "actor_name", "model", "object_id", "object_repr", "change", "reason", "service",
                       "diff", "history_id")
    fields = readonly_fields

    @admin.display(description="field changes")
    def diff(self, event: AuditEvent) -> str:
        rows = [(c["field"], _short(c.get("old")), _short(c.get("new"))) for c in event.changes[:12]]
        if not rows:
            return "—"
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td><del>{}</del></td><td><ins>{}</ins></td></tr>", rows))


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "…"


@admin.register(AuditExport)
class AuditExportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "since", "until", "record_count", "head_hash"]


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "beat_at"]


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """axes' admin with a working "Clean up expired attempts": the action reads request attributes only login
    requests carry, so every click was a 500 (jazzband/django-axes#1424, open in 8.3.1)."""

    @admin.action(description=axes_admin.AccessAttemptAdmin.cleanup_expired_attempts.short_description)
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet) -> None:
        AxesProxyHandler.update_request(request)
        super().cleanup_expired_attempts(request, queryset)

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if malformed_selection(self, request):
            return None
        return super().response_action(request, queryset)


if admin.site.is_registered(AccessAttempt):  # axes registers its admin unless AXES_ENABLE_ADMIN is off
    admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, AccessAttemptAdmin)
