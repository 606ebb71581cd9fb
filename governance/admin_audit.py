"""The audit timeline in the admin, its complete diffs, and the export an auditor downloads with their session.

Kept apart from governance/admin.py: the export view, checkpoints and signing keys are one area (docs/AUDIT.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join

from governance import admin_evidence, audit_exports, formatting
from governance.admin_tools import ReadOnlyAdmin
from governance.models import AuditCheckpoint, AuditEvent, AuditExport, AuditSigningKey, Environment, Service, Source

EXPORT_PERMISSION = "governance.export_auditevent"


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
        return audited_models()

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


class EnvironmentFilter(admin.SimpleListFilter):
    title = "environment"
    parameter_name = "environment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), slug) for pk, slug in Environment.objects.values_list("pk", "slug")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(environment_id=int(value))
        except ValueError:
            raise IncorrectLookupParameters(f"Unknown environment id {value!r}.") from None


def audited_models() -> list[tuple[str, str]]:
    from django.apps import apps
    from django.contrib.auth.models import Group, User

    from governance.audit_base import Audited

    # Users and roles have no history tables; governance.services_users writes their events.
    portal = [(m._meta.label_lower, str(m._meta.verbose_name).capitalize() + f" ({m._meta.app_label})")
              for m in apps.get_models() if issubclass(m, Audited) or m in (User, Group)]
    # Events imported from outside (GitHub's audit log) name their category as the model, e.g. github.team.
    imported = (AuditEvent.objects.filter(source=Source.GITHUB).order_by().values_list("model", flat=True)
                .distinct()[:100])
    return sorted([*portal, *((name, f"{name.partition('.')[2]} (imported from GitHub)") for name in imported)])


class AuditExportForm(forms.Form):
    since = forms.DateTimeField(required=False, help_text="From (inclusive), e.g. 2026-01-01 00:00")
    until = forms.DateTimeField(required=False, help_text="To (exclusive)")
    actor = forms.CharField(required=False, max_length=150, help_text="Username")
    model = forms.ChoiceField(required=False)
    service = forms.ChoiceField(required=False)
    environment = forms.ChoiceField(required=False)
    source = forms.ChoiceField(required=False, choices=[("", "any"), *Source.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = {
            "model": audited_models(),
            "service": [(s, s) for s in Service.objects.values_list("slug", flat=True)],
            "environment": [(e, e) for e in Environment.objects.values_list("slug", flat=True)],
        }
        for name, options in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", "any"), *options]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit timeline: every change to every governed model, newest first."""

    # One compact row per event; the field-by-field diff folds into a <details> (portal.css: .model-auditevent).
    list_display = ["when", "who", "what", "object_repr", "change", "reason", "diff"]
    list_filter = [ActorFilter, ModelFilter, ServiceFilter, EnvironmentFilter, "source", "change",
                   ("at", admin.DateFieldListFilter)]
    search_fields = ["=object_id", "object_repr", "reason"]
    date_hierarchy = "at"
    list_per_page = 100  # a busy day on one screen: rows are one line each, diffs folded
    show_full_result_count = False  # no second COUNT(*) over the whole table on each page
    readonly_fields = ("at", "actor_name", "source", "model", "object_id", "object_repr", "change", "reason",
                       "service", "environment", "diff", "history_id")
    fields = readonly_fields
    change_list_template = "admin/governance/auditevent/change_list.html"

    @admin.display(description="when", ordering="at")
    def when(self, event: AuditEvent) -> str:
        recorded = formatting.when(event.at, seconds=True)
        if event.source != Source.GITHUB:
            return recorded
        # Imported: `at` is when the portal recorded it (the chain's order); GitHub's own time is in the diff.
        occurred = next((c.get("new") for c in event.changes if c.get("field") == "occurred_at"), None)
        return f"{recorded} (on GitHub: {occurred})" if occurred else recorded

    @admin.display(description="model", ordering="model")
    def what(self, event: AuditEvent) -> str:
        app, _, name = event.model.partition(".")
        return format_html('<span title="{}">{}</span>', event.model, name or app)

    @admin.display(description="who (source)", ordering="actor_name")
    def who(self, event: AuditEvent) -> str:
        return f"{event.actor_name} ({event.get_source_display().lower()})"

    @admin.display(description="field changes")
    def diff(self, event: AuditEvent) -> str:
        # Every change, every value whole: a clipped diff hides what changed (docs/AUDIT.md). Folded on the list
        # (the summary names the fields), open on the event's own page.
        rows = [(c.get("field", ""), _shown(c, "old"), _shown(c, "new")) for c in event.changes]
        if not rows:
            return "—"
        table = format_html('<table class="diff">{}</table>', format_html_join(
            "", "<tr><td>{}</td><td><del><pre>{}</pre></del></td><td><ins><pre>{}</pre></ins></td></tr>", rows))
        names = ", ".join(r[0] for r in rows[:3]) + (f" +{len(rows) - 3}" if len(rows) > 3 else "")
        return format_html('<details class="audit-diff"><summary>{} field{}: {}</summary>{}</details>',
                           len(rows), "" if len(rows) == 1 else "s", names, table)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = {"export_query": _export_query(request.GET), **(extra_context or {})}
        return super().changelist_view(request, context)

    def get_urls(self) -> list[URLPattern]:
        # The export streams after the view returns: under the site's atomic-POST wrapper its server-side cursor
        # would close with the transaction ("cursor … does not exist" mid-download on a real server). It writes
        # only its AuditExport row, atomically, as the file ends; so it gets Django's plain admin_view (login,
        # staff, CSRF, never cached) without the wrapper.
        export = path("export/", admin.AdminSite.admin_view(self.admin_site, self.export_view),
                      name="governance_auditevent_export")
        verify = path("verify/", self.admin_site.admin_view(self.verify_view), name="governance_auditevent_verify")
        # The pack's sections run in their own read-only transaction, which must be the outermost one: no wrapper.
        pack = path("evidence-pack/", admin.AdminSite.admin_view(self.admin_site, self.evidence_pack_view),
                    name="governance_auditevent_evidence_pack")
        return [export, verify, pack, *super().get_urls()]

    def evidence_pack_view(self, request: HttpRequest) -> HttpResponseBase:
        return admin_evidence.evidence_pack_view(self, request)

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        """docs/AUDIT.md's verification steps, rendered from the page itself (one text for both)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "title": "Verify an audit export",
                   "steps": verification_steps(), "opts": self.model._meta}
        return TemplateResponse(request, "admin/governance/auditevent/verify.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """The auditor's export with their browser session: the API's filters, the same signed file."""
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied("Exporting the audit trail needs the Auditor or Administrator role.")
        # A GET carries the timeline's filters (its "Export these events" link) as the form's starting values.
        form = AuditExportForm(request.POST if request.method == "POST" else None,
                               initial={k: v for k, v in request.GET.items() if k in AuditExportForm.base_fields})
        if request.method == "POST" and form.is_valid():
            try:
                filters = audit_exports.build_filters(**form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                return audit_exports.export_response(actor=request.user, filters=filters)
        context = {**self.admin_site.each_context(request), "title": "Export the audit trail", "form": form,
                   "opts": self.model._meta}
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, "admin/governance/auditevent/export.html", context, status=status)


AUDIT_DOC = Path(settings.BASE_DIR) / "docs" / "AUDIT.md"
VERIFY_HEADING = "## Verifying offline"


def verification_steps() -> str:
    """The "Verifying offline" section of docs/AUDIT.md as text (the doc is the one home of the steps)."""
    try:
        text = AUDIT_DOC.read_text(encoding="utf-8")
    except OSError:
        return "See docs/AUDIT.md, section \"Verifying offline\", in the portal's repository."
    start = text.find(VERIFY_HEADING)
    if start < 0:
        return "See docs/AUDIT.md in the portal's repository."
    end = text.find("\n## ", start + len(VERIFY_HEADING))
    return text[start:end if end > 0 else None].strip()


def _export_query(params: Any) -> str:
    """The timeline's filters as the export form's fields (the export names services and environments by slug)."""
    query: dict[str, str] = {}
    for name in ("actor", "model", "source"):
        key = "source__exact" if name == "source" else name
        if params.get(key):
            query[name] = params[key]
    for name, model in (("service", Service), ("environment", Environment)):
        value = params.get(name, "")
        if value.isdigit():
            slug = model.objects.filter(pk=int(value)).values_list("slug", flat=True).first()
            if slug:
                query[name] = slug
    return urlencode(query)


def _shown(change: dict[str, Any], side: str) -> str:
    """A value as JSON (a string stays plain), with a foreign key's name next to its id."""
    value = change.get(side)
    text = "" if value is None else value if isinstance(value, str) else json.dumps(
        value, indent=2, sort_keys=True, ensure_ascii=False)
    label = change.get(f"{side}_label")
    return f"{text} ({label})" if label else text


@admin.register(AuditExport)
class AuditExportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "purpose", "service", "since", "until", "record_count", "key_id",
                    "head_hash"]
    readonly_fields = ["created_at", "actor_name", "since", "until", "filters", "record_count", "head_hash",
                       "key_id", "trailer"]

    @admin.display(description="purpose")
    def purpose(self, export: AuditExport) -> str:
        """"evidence-pack" for the export inside an evidence pack (the pack's audit record), else "export"."""
        return str((export.filters or {}).get("purpose") or "export")

    @admin.display(description="service")
    def service(self, export: AuditExport) -> str:
        return str((export.filters or {}).get("service") or "all")


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["covers_until", "record_count", "head_hash", "key_id", "created_at"]


@admin.register(AuditSigningKey)
class AuditSigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["key_id", "public_key", "first_used_at"]
