"""Admin for access reviews (policies governed, snapshots evidence) and the secrets inventory."""

from __future__ import annotations

import json
from typing import Any

import yaml
from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from access import policy as policy_rules
from access import services
from access.forms import PolicyDocumentField
from access.models import AccessPolicy, AccessSnapshot, Secret, SecretRotation
from governance.admin_tools import AuditedAdmin, ReadOnlyAdmin, confirm_with_reason
from governance.formatting import when
from governance.reasons import ReasonFormField

EXAMPLE = """role_patterns: ["shop_*"]
owner: shop_owner
roles:
  shop_owner: {kind: maintenance}
  shop_service: {kind: service, login: true}
  shop_anon: {kind: anon, login: true}
write: {shop_service: [public.orders], shop_owner: ["*"]}
read: {shop_anon: [public.products], shop_service: ["*"]}
rls_required: [public.orders]
"""


class AccessPolicyForm(forms.ModelForm):
    document = PolicyDocumentField(help_text=format_html(
        "YAML or JSON (docs/SECURITY.md § Database access review). Example:<pre>{}</pre>", EXAMPLE),
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "style": "font-family: monospace"}))

    class Meta:
        model = AccessPolicy
        fields = ["target", "document", "enabled"]


@admin.register(AccessPolicy)
class AccessPolicyAdmin(AuditedAdmin):
    form = AccessPolicyForm
    list_display = ["target", "revision", "enabled", "last_review", "findings"]
    list_select_related = ["target"]
    actions = ["review_now", "draft_from_latest"]
    reason_field_help = "Why this change to the access policy? Recorded in the audit trail."

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["target", "revision"] if obj is not None else ["revision"]

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        if change:
            services.update_access_policy(policy=obj, actor=request.user, reason=reason,
                                          document=form.cleaned_data["document"], enabled=form.cleaned_data["enabled"])
            return
        created = services.create_access_policy(target=form.cleaned_data["target"],
                                                document=form.cleaned_data["document"],
                                                enabled=form.cleaned_data["enabled"], actor=request.user, reason=reason)
        obj.pk = created.pk

    def _latest(self, policy: AccessPolicy) -> AccessSnapshot | None:
        return AccessSnapshot.objects.filter(target_id=policy.target_id).order_by("-taken_at", "-id").first()

    @admin.display(description="last review")
    def last_review(self, policy: AccessPolicy) -> str:
        latest = self._latest(policy)
        if latest is None:
            return "never"
        url = reverse("admin:access_accesssnapshot_change", args=[latest.pk])
        return format_html('<a href="{}">{}</a> ({})', url, when(latest.taken_at), latest.status)

    @admin.display(description="findings")
    def findings(self, policy: AccessPolicy) -> str:
        latest = self._latest(policy)
        return "—" if latest is None else str(len(latest.drift))

    # Reviewing adds an evidence row: whoever may add access snapshots (Maintenance admins, Administrators).
    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("access.add_accesssnapshot")

    @admin.action(description="Review database access now", permissions=["review"])
    def review_now(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(policy: AccessPolicy, reason: str) -> str:
            snapshot = services.review_access(target=policy.target, actor=request.user, reason=f"admin: {reason}")
            url = reverse("admin:access_accesssnapshot_change", args=[snapshot.pk])
            return format_html('Review <a href="{}">#{}</a> of {}: {} ({} finding(s)).', url, snapshot.pk,
                               policy.target.name, snapshot.status, len(snapshot.drift))

        return confirm_with_reason(
            self, request, queryset, title="Review database access", action="review_now", apply=apply,
            warning="Connects to each database read-only (its DSN from the target's environment variable), reads "
            "roles, grants and row-level security, records a snapshot and alerts on new drift.")

    @admin.action(description="Show a policy drafted from the latest snapshot", permissions=["view"])
    def draft_from_latest(self, request: HttpRequest, queryset: QuerySet) -> None:
        for policy in queryset:
            latest = (AccessSnapshot.objects.filter(target_id=policy.target_id)
                      .exclude(status=AccessSnapshot.Status.FAILED).order_by("-taken_at", "-id").first())
            if latest is None:
                self.message_user(request, f"{policy.target.name}: no snapshot yet.")
                continue
            draft = yaml.safe_dump(policy_rules.draft_from_snapshot(latest.snapshot), sort_keys=False)
            self.message_user(request, format_html(
                "{}: what the database grants today, as a policy (narrow it before adopting it):<pre>{}</pre>",
                policy.target.name, draft))


@admin.register(AccessSnapshot)
class AccessSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["id", "target", "taken_at", "status", "policy_revision", "finding_count", "change_count",
                    "taken_by"]
    list_filter = ["status", "target"]
    list_select_related = ["target", "taken_by"]
    date_hierarchy = "taken_at"
    fields = ("target", "taken_at", "status", "policy_revision", "taken_by", "reason", "error", "digest", "previous",
              "drift_table", "change_table", "snapshot_json")
    readonly_fields = fields

    @admin.display(description="findings")
    def finding_count(self, snapshot: AccessSnapshot) -> int:
        return len(snapshot.drift)

    @admin.display(description="changes since previous")
    def change_count(self, snapshot: AccessSnapshot) -> int:
        return len(snapshot.changes)

    @admin.display(description="drift from the policy")
    def drift_table(self, snapshot: AccessSnapshot) -> str:
        if not snapshot.drift:
            return "none"
        rows = [(d["code"], d["object"], d["message"]) for d in snapshot.drift]
        return format_html("<table><tr><th>code</th><th>object</th><th>finding</th></tr>{}</table>",
                           format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows))

    @admin.display(description="what changed since the previous snapshot")
    def change_table(self, snapshot: AccessSnapshot) -> str:
        if not snapshot.changes:
            return "nothing" if snapshot.previous_id else "— (first snapshot)"
        rows = [(c["path"], json.dumps(c["before"]), json.dumps(c["after"])) for c in snapshot.changes]
        return format_html("<table><tr><th>where</th><th>before</th><th>after</th></tr>{}</table>",
                           format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows))

    @admin.display(description="snapshot")
    def snapshot_json(self, snapshot: AccessSnapshot) -> str:
        return format_html("<pre>{}</pre>", json.dumps(snapshot.snapshot, indent=2, sort_keys=True))


class RotationForm(forms.Form):
    reason = ReasonFormField(help_text="Why was it rotated (schedule, leak, staff change…)? Recorded in the audit trail.")
    rotated_at = forms.DateTimeField(required=False, help_text="When the new value went live (UTC); empty: now.")


@admin.register(Secret)
class SecretAdmin(AuditedAdmin):
    list_display = ["name", "service_label", "location", "owner", "last_rotated_at", "max_age_days", "due",
                    "runbook"]
    list_filter = ["service", "owner"]
    search_fields = ["name", "location", "owner"]
    list_select_related = ["service"]
    actions = ["record_rotation"]
    fields = ["service", "name", "location", "owner", "last_rotated_at", "max_age_days", "runbook_url", "notes"]
    reason_field_help = "Why this change to the inventory? Recorded in the audit trail."

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A rotation is recorded through the action (with its own evidence row), not by editing the date.
        return ["service", "name", "last_rotated_at"] if obj is not None else []

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        if change:
            changed = {f: form.cleaned_data[f] for f in services.SECRET_FIELDS if f in form.changed_data}
            services.update_secret(secret=obj, actor=request.user, reason=reason, **changed)
            return
        data = {f: form.cleaned_data[f] for f in self.fields}
        obj.pk = services.create_secret(actor=request.user, reason=reason, **data).pk

    @admin.display(description="service", ordering="service__slug")
    def service_label(self, secret: Secret) -> str:
        return secret.service.slug if secret.service else "portal"

    @admin.display(description="due")
    def due(self, secret: Secret) -> str:
        text = when(secret.due_at)
        return format_html('<span class="verdict verdict-block">OVERDUE since {}</span>', text) if secret.is_overdue() \
            else text

    @admin.display(description="runbook")
    def runbook(self, secret: Secret) -> str:
        if secret.runbook_url.startswith(("http://", "https://")):
            return format_html('<a href="{}">runbook</a>', secret.runbook_url)
        return secret.runbook_url

    def has_rotate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("access.add_secretrotation")

    @admin.action(description="Record a rotation", permissions=["rotate"])
    def record_rotation(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(secret: Secret, reason: str) -> str:
            rotated_at = request._confirm_form.cleaned_data.get("rotated_at")  # type: ignore[attr-defined]  # set by confirm_with_reason
            rotation = services.record_rotation(secret=secret, actor=request.user, reason=f"admin: {reason}",
                                                rotated_at=rotated_at)
            return f"{secret}: rotation recorded ({when(rotation.rotated_at)}); next due {when(secret.due_at)}."

        return confirm_with_reason(
            self, request, queryset, title="Record a rotation", action="record_rotation", apply=apply,
            extra_form=RotationForm,
            warning="Records that the secret's value was replaced (do it after the runbook's steps, not instead): "
            "the rotation deadline starts again and the overdue alert is re-armed. No value is entered here.")


@admin.register(SecretRotation)
class SecretRotationAdmin(ReadOnlyAdmin):
    list_display = ["secret", "rotated_at", "previous_rotated_at", "recorded_by", "reason"]
    list_filter = ["secret__service"]
    list_select_related = ["secret__service", "recorded_by"]
    date_hierarchy = "rotated_at"
