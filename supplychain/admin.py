"""Admin: SBOMs and their components, the package search, advisories and imports, findings, waivers, policies."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from governance import formatting
from governance.admin_tools import AuditedAdmin, ReadOnlyAdmin, ReadOnlyHistoryAdmin, confirm_with_reason
from supplychain import matching, queries, services
from supplychain.models import Advisory, Component, Finding, ImportRun, Sbom, SeverityPolicy, Waiver


def _live(obj: Any) -> str:
    return ", ".join(getattr(obj, "live_in", None) or []) or "—"


class ComponentInline(admin.TabularInline):
    model = Component
    fields = ["purl", "name", "version", "ecosystem", "package", "hashes"]
    readonly_fields = ["purl", "name", "version", "ecosystem", "package", "hashes"]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Sbom)
class SbomAdmin(ReadOnlyHistoryAdmin):
    list_display = ["release", "source", "spec_version", "component_count", "arrived", "sha256"]
    list_filter = ["source", "release__service"]
    list_select_related = ["release__service"]
    search_fields = ["release__service__slug", "release__version", "sha256"]
    exclude = ["document"]
    inlines = [ComponentInline]

    @admin.display(description="received", ordering="received_at")
    def arrived(self, obj: Sbom) -> str:
        return formatting.when(obj.received_at)


@admin.register(Component)
class ComponentAdmin(ReadOnlyAdmin):
    """Which releases, live where, contain package X at version Y: search a name or purl, filter by version."""

    list_display = ["purl", "version", "service", "release", "release_state", "live_in"]
    list_filter = ["ecosystem", "release__service", "release__state"]
    list_select_related = ["release__service"]
    search_fields = ["=package", "=name", "purl", "=version"]
    search_help_text = "A package name (any spelling: PEP 503 names match), a purl, or an exact version."

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if term.startswith("pkg:"):
            try:
                ident = matching.identify(term)
            except matching.UnknownPackage:
                return queryset.none(), False
            found = queryset.filter(ecosystem=ident.package.ecosystem, package=ident.package.name)
            return (found.filter(version=ident.version) if ident.version else found), False
        if term and " " not in term:
            normalised = queryset.filter(package__in={matching.normalise_name(e, term) for e in ("PyPI", "npm")})
            results, distinct = super().get_search_results(request, queryset, search_term)
            return results | normalised, distinct
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="service", ordering="release__service__slug")
    def service(self, obj: Component) -> str:
        return obj.release.service.slug

    @admin.display(description="release state", ordering="release__state")
    def release_state(self, obj: Component) -> str:
        return obj.release.get_state_display()

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return queries.with_live_in(super().get_queryset(request))

    @admin.display(description="live in")
    def live_in(self, obj: Component) -> str:
        return _live(obj)


@admin.register(Advisory)
class AdvisoryAdmin(ReadOnlyAdmin):
    list_display = ["osv_id", "severity_rating", "severity_score", "summary_short", "modified", "withdrawn"]
    list_filter = ["severity_rating", "severity_source", "affected__ecosystem"]
    search_fields = ["=osv_id", "aliases__icontains", "affected__package"]
    exclude = ["record"]
    readonly_fields = ["record_json"]

    @admin.display(description="summary")
    def summary_short(self, obj: Advisory) -> str:
        return obj.summary[:120]

    @admin.display(description="OSV record")
    def record_json(self, obj: Advisory) -> str:
        import json

        return json.dumps(obj.record, indent=1, sort_keys=True)[:20000]


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "trigger", "source", "read", "created", "updated", "withdrawn", "unchanged",
                    "invalid", "alerts", "error"]
    list_filter = ["trigger"]


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["release", "advisory", "severity", "purl", "fixed", "waived", "live_in", "first_seen_at"]
    list_filter = ["advisory__severity_rating", "release__service"]
    list_select_related = ["release__service", "advisory"]
    search_fields = ["advisory__osv_id", "purl", "package"]

    @admin.display(description="severity", ordering="advisory__severity_rating")
    def severity(self, obj: Finding) -> str:
        return obj.advisory.severity_rating

    @admin.display(description="waived until")
    def waived(self, obj: Finding) -> str:
        waiver = queries.waiver_in_force(obj.release, obj)
        return formatting.when(waiver.expires_at) if waiver else "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return queries.with_live_in(super().get_queryset(request))

    @admin.display(description="live in")
    def live_in(self, obj: Finding) -> str:
        return _live(obj)


class WaiverAddForm(forms.ModelForm):
    purl = forms.CharField(max_length=1000, help_text="The package as a purl, e.g. pkg:pypi/django (any version).")

    class Meta:
        model = Waiver
        fields = ["service", "advisory_id", "expires_at"]

    def clean_purl(self) -> str:
        try:
            matching.identify(self.cleaned_data["purl"])
        except matching.UnknownPackage as exc:
            raise ValidationError(str(exc)) from None
        return str(self.cleaned_data["purl"])


@admin.register(Waiver)
class WaiverAdmin(AuditedAdmin):
    list_display = ["__str__", "status", "in_force_now", "expires_at", "requested_by", "approved_by"]
    list_filter = ["status", "service"]
    list_select_related = ["service", "requested_by", "approved_by"]
    search_fields = ["advisory_id", "package"]
    add_form = WaiverAddForm
    actions = ["approve", "revoke"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["service", "advisory_id", "purl", "expires_at", "reason"]})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return []
        return ["service", "advisory_id", "ecosystem", "package", "reason", "expires_at", "status", "requested_by",
                "requested_at", "approved_by", "approved_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) if obj is None else False

    @admin.display(boolean=True, description="in force")
    def in_force_now(self, obj: Waiver) -> bool:
        return obj.in_force()

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        waiver = services.request_waiver(service=form.cleaned_data["service"],
                                         advisory_id=form.cleaned_data["advisory_id"],
                                         package=form.cleaned_data["purl"], expires_at=form.cleaned_data["expires_at"],
                                         actor=request.user, reason=reason)
        obj.pk = waiver.pk

    @admin.action(description="Approve (as a second person)", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(waiver: Waiver, reason: str) -> str:
            services.approve_waiver(waiver=waiver, actor=request.user, reason=reason)
            return f"{waiver}: approved until {formatting.when(waiver.expires_at)}"

        return confirm_with_reason(self, request, queryset, title="Approve waivers", action="approve", apply=apply,
                                   warning="While a waiver is in force, the advisory no longer blocks this service's "
                                           "releases that contain the package, in every environment, until it expires.")

    @admin.action(description="Revoke", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def apply(waiver: Waiver, reason: str) -> str:
            services.revoke_waiver(waiver=waiver, actor=request.user, reason=reason)
            return f"{waiver}: revoked"

        return confirm_with_reason(self, request, queryset, title="Revoke waivers", action="revoke", apply=apply,
                                   warning="The findings these waivers cover block promotions again at once.")


@admin.register(SeverityPolicy)
class SeverityPolicyAdmin(AuditedAdmin):
    list_display = ["environment", "min_severity", "blocks", "require_sbom"]

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        services.save_severity_policy(policy=obj, actor=request.user, reason=reason)
