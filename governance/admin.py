"""Admin for the core: services, environments, API tokens (the audit timeline and its export: admin_audit.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from axes import admin as axes_admin
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from governance import admin_users, services  # noqa: F401  # admin_users registers users, roles, service accounts
from governance.admin_audit import ServiceFilter  # noqa: F401  (registers the audit admins; other apps' filter)
from governance.admin_tools import AuditedAdmin, ReadOnlyAdmin, confirm_with_reason, malformed_selection
from governance.models import ApiToken, Environment, Heartbeat, Scope, Service


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

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The page of one token is read-only (a POST to it is a 403); the change permission gates the rotate
        # and revoke actions on the list, which change tokens through their services.
        return obj is None and super().has_change_permission(request)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "owner":
            # A token belongs to whoever creates it or to a service account (services.check_token_owner).
            from django.contrib.auth import get_user_model
            from django.db.models import Q

            kwargs["queryset"] = get_user_model().objects.filter(
                Q(pk=request.user.pk) | Q(service_account__isnull=False)).order_by("username")
            kwargs.setdefault("initial", request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "beat_at"]


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """axes' admin with a working "Clean up expired attempts": the action reads request attributes only login
    requests carry, so every click was a 500 (jazzband/django-axes#1424, open in 8.3.1)."""

    @admin.action(description=axes_admin.AccessAttemptAdmin.cleanup_expired_attempts.short_description,
                  permissions=["delete"])
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
