"""Admin for users, roles (groups) and service accounts: every save needs a reason and goes through
`governance.services_users`, which holds the grant rule and writes the audit event.

Replaces Django's stock UserAdmin and GroupAdmin, which let anyone with `auth.change_user` tick
"superuser" or hand out single permissions, and recorded changes only in the admin log.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.admin import GroupAdmin as StockGroupAdmin
from django.contrib.auth.admin import UserAdmin as StockUserAdmin
from django.contrib.auth.models import Group
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from governance import services_users
from governance.admin_tools import AuditedAdmin, malformed_selection
from governance.models import ServiceAccount
from governance.reasons import ReasonFormField

User = get_user_model()
SELF_SERVICE_REASON = "changed their own password (admin)"


class UserAddForm(auth_forms.AdminUserCreationForm):
    reason = ReasonFormField()

    class Meta(auth_forms.AdminUserCreationForm.Meta):
        fields = ("username",)


class UserChangeForm(auth_forms.UserChangeForm):
    reason = ReasonFormField()


class PasswordWithReasonForm(auth_forms.AdminPasswordChangeForm):
    reason = ReasonFormField()


class RefusingSaveMixin:
    """A change the service refuses (a grant rule, a clash) is a message on the page, not a 500."""

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]  # mixin
        except ValidationError as exc:
            if request.method != "POST":
                raise
            # changeform_view is atomic: nothing was written.
            self.message_user(request, f"Not saved: {'; '.join(exc.messages)}",  # type: ignore[attr-defined]
                              messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def response_action(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        if malformed_selection(self, request):  # type: ignore[arg-type]  # mixed into a ModelAdmin
            return None
        return super().response_action(request, queryset)  # type: ignore[misc]  # mixed into a ModelAdmin

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # accounts are deactivated, roles kept: the audit trail refers to both

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]  # mixed into a ModelAdmin
        actions.pop("delete_selected", None)
        return actions


def _is_root(request: HttpRequest) -> bool:
    return services_users.is_root(request.user)


class UserAdmin(RefusingSaveMixin, StockUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            rows = ["username", "usable_password", "password1", "password2", "first_name", "last_name", "email",
                    "is_staff", "groups"]
            return [(None, {"fields": rows}), ("Audit", {"fields": ["reason"]})]
        access = ["is_active", "is_staff", "groups"]
        if _is_root(request):
            access += ["is_superuser", "user_permissions"]
        return [(None, {"fields": ["username", "password"]}),
                ("Person", {"fields": ["first_name", "last_name", "email"]}),
                ("Access", {"fields": access, "description": "Roles (groups) are the grants: governance/roles.py."}),
                ("Dates", {"fields": ["last_login", "date_joined"]}),
                ("Audit", {"fields": ["reason"]})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["last_login", "date_joined"] if obj is not None else []

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not _is_root(request):
            return False  # whoever could edit a superuser's account could become them
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        reason = data["reason"]
        if not change:
            password = data.get("password1") if data.get("usable_password", "true") != "false" else None
            fields = {f: data[f] for f in ("first_name", "last_name", "email", "is_staff", "groups") if f in data}
            created = services_users.create_user(username=data["username"], password=password or None,
                                                 actor=request.user, reason=reason, **fields)
            obj.pk = created.pk
            return
        editable = {"username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser",
                    "groups", "user_permissions"}
        changes = {f: data[f] for f in form.changed_data if f in editable and f in data}
        services_users.update_user(user=obj, actor=request.user, reason=reason, **changes)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # the service set roles and permissions, and audited them

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404(f"No user with id {id!r}.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        form = PasswordWithReasonForm(user, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            usable = form.cleaned_data.get("set_usable_password", True)
            try:
                services_users.set_password(user=user, password=form.cleaned_data["password1"] if usable else None,
                                            actor=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if user.pk == request.user.pk:
                    user.refresh_from_db()
                    update_session_auth_hash(request, user)
                self.message_user(request, "Password changed." if usable else "Password log-in disabled.")
                return HttpResponseRedirect(reverse("admin:auth_user_change", args=[user.pk]))
        fieldsets = [(None, {"fields": list(form.fields)})]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change password: {user.get_username()}", "adminForm": admin.helpers.AdminForm(
                form, fieldsets, {}),  # type: ignore[arg-type]  # any form renders; the stubs say ModelForm
            "form_url": form_url, "form": form, "is_popup": False, "add": True, "change": False,
            "has_delete_permission": False, "has_change_permission": True, "has_absolute_url": False,
            "opts": self.opts, "original": user, "save_as": False, "show_save": True,
        }
        return TemplateResponse(request, "admin/auth/user/change_password.html", context)


class GroupForm(forms.ModelForm):
    reason = ReasonFormField()

    class Meta:
        model = Group
        fields = ["name", "permissions"]


class GroupAdmin(RefusingSaveMixin, StockGroupAdmin):
    """Roles: Administrators see them; only superusers create them or change their permissions."""

    form = GroupForm
    fields = ["name", "permissions", "reason"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_root(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_root(request)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = services_users.save_group(group=obj if change else None, name=data["name"],
                                          permissions=data["permissions"], actor=request.user,
                                          reason=data["reason"])
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # the service set the permissions and audited them


class ServiceAccountAddForm(forms.ModelForm):
    username = forms.CharField(max_length=150, help_text="e.g. shop-ci")

    class Meta:
        model = ServiceAccount
        fields = ["username", "description"]


class ServiceAccountAdmin(AuditedAdmin):
    """Non-human accounts that own CI tokens; they cannot log in and never approve."""

    list_display = ["user", "description", "created_at"]
    search_fields = ["user__username", "description"]
    add_form = ServiceAccountAddForm
    reason_field_help = "Who asked for the account and what uses it. Recorded in the audit trail."

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["username", "description"]}), ("Audit", {"fields": ["reason"]})]
        return [(None, {"fields": ["user", "description", "created_at"]}), ("Audit", {"fields": ["reason"]})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["user", "created_at"] if obj is not None else []

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        if change:
            super().save_via_service(request, obj, form, change, reason)
            return
        account = services_users.create_service_account(
            username=form.cleaned_data["username"], description=form.cleaned_data["description"],
            actor=request.user, reason=reason)
        obj.pk, obj.user = account.pk, account.user


class AuditedPasswordChangeForm(auth_forms.PasswordChangeForm):
    """The admin's own "change my password" page, through the audited service."""

    def save(self, commit: bool = True) -> Any:
        return services_users.set_password(user=self.user, password=self.cleaned_data["new_password1"],
                                           actor=self.user, reason=SELF_SERVICE_REASON)


def own_password_change(request: HttpRequest) -> HttpResponseBase:
    site = admin.site
    view = PasswordChangeView.as_view(form_class=AuditedPasswordChangeForm,
                                      success_url=reverse("admin:password_change_done", current_app=site.name),
                                      extra_context=site.each_context(request))
    request.current_app = site.name
    return view(request)


def register(site: admin.AdminSite) -> None:
    for model in (User, Group):
        if site.is_registered(model):
            site.unregister(model)
    site.register(User, UserAdmin)
    site.register(Group, GroupAdmin)
    site.register(ServiceAccount, ServiceAccountAdmin)


register(admin.site)
