"""Admin: component groups, components (status actions), incidents and maintenance (updates, publish), updates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from governance.admin import ReadOnlyAdmin, ServiceFilter
from governance.admin_tools import AuditedAdmin, ReadOnlyHistoryAdmin, ReasonForm, confirm_with_reason
from observability.models import SloAlert
from status import admin_maintenance, drafts, review, services
from status.models import (
    CLOSED,
    Component,
    ComponentGroup,
    ComponentStatus,
    Incident,
    IncidentUpdate,
    Subscriber,
    WebhookSubscriber,
)


@admin.register(ComponentGroup)
class ComponentGroupAdmin(AuditedAdmin):
    list_display = ["name", "service", "position"]
    list_select_related = ["service"]
    list_filter = [ServiceFilter]
    fields = ["service", "name", "description", "position"]

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        services.save_group(group=obj, actor=request.user, reason=reason)


class StatusForm(ReasonForm):
    status = forms.ChoiceField(choices=ComponentStatus.choices,
                               help_text="Set by hand: wins over SLO alerts and maintenance until released.")


@admin.register(Component)
class ComponentAdmin(AuditedAdmin):
    list_display = ["name", "service", "group", "status_badge", "source", "proposal", "public"]
    list_select_related = ["service", "group"]
    list_filter = [ServiceFilter, "status", "source", "public"]
    fields = ["service", "group", "name", "description", "position", "public"]
    readonly_fields = ["status", "source", "proposed_status", "proposed_reason"]
    actions = ["set_status", "release_manual", "accept_proposal", "dismiss_proposal"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.fields, *(self.readonly_fields if obj else [])]

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        fields = [f for f in form.changed_data if f != "reason"] if change else None
        services.save_component(component=obj, actor=request.user, reason=reason, update_fields=fields)

    @admin.display(description="status", ordering="status")
    def status_badge(self, component: Component) -> str:
        return format_html('<span class="component-status status-{}">{}</span>', component.status,
                           component.get_status_display())

    @admin.display(description="proposed by an SLO alert")
    def proposal(self, component: Component) -> str:
        if not component.proposed_status:
            return "—"
        return f"{component.get_proposed_status_display()}: {component.proposed_reason}"

    @admin.action(description="Set status by hand (wins over automatic sources)", permissions=["change"])
    def set_status(self, request: HttpRequest, queryset: QuerySet[Component]) -> HttpResponse | None:
        def apply(component: Component, reason: str) -> None:
            status = request._confirm_form.cleaned_data["status"]  # type: ignore[attr-defined]  # confirm form
            services.set_component_status(component=component, status=status, actor=request.user, reason=reason)

        return confirm_with_reason(self, request, queryset, title="Set component status", action="set_status",
                                   apply=apply, extra_form=StatusForm)

    @admin.action(description="Release the manual status (back to automatic)", permissions=["change"])
    def release_manual(self, request: HttpRequest, queryset: QuerySet[Component]) -> HttpResponse | None:
        def apply(component: Component, reason: str) -> None:
            services.release_manual_status(component=component, actor=request.user, reason=reason)

        return confirm_with_reason(self, request, queryset, title="Release manual status", action="release_manual",
                                   apply=apply)

    @admin.action(description="Accept the status an SLO alert proposed", permissions=["change"])
    def accept_proposal(self, request: HttpRequest, queryset: QuerySet[Component]) -> HttpResponse | None:
        def apply(component: Component, reason: str) -> None:
            services.accept_proposal(component=component, actor=request.user, reason=reason)

        return confirm_with_reason(self, request, queryset, title="Accept proposed status", action="accept_proposal",
                                   apply=apply)

    @admin.action(description="Dismiss the proposed status", permissions=["change"])
    def dismiss_proposal(self, request: HttpRequest, queryset: QuerySet[Component]) -> HttpResponse | None:
        def apply(component: Component, reason: str) -> None:
            services.dismiss_proposal(component=component, actor=request.user, reason=reason)

        return confirm_with_reason(self, request, queryset, title="Dismiss proposed status",
                                   action="dismiss_proposal", apply=apply)


class IncidentAddForm(forms.ModelForm):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=10000,
                           help_text="The first public update.")
    next_update_by = forms.DateTimeField(required=False, help_text="When the next update is promised (UTC).")
    component_status = forms.ChoiceField(choices=[("", "leave as they are"), *ComponentStatus.choices],
                                         required=False, help_text="Set the affected components to this status.")

    class Meta:
        model = Incident
        fields = ["service", "name", "impact", "components", "commander", "public", "internal_notes"]


class UpdateForm(ReasonForm):
    status = forms.ChoiceField(choices=Incident.Status.choices)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=10000)
    next_update_by = forms.DateTimeField(required=False, help_text="Promise the next update (UTC); empty: none.")


@admin.register(Incident)
class IncidentAdmin(AuditedAdmin):
    list_display = ["name", "kind", "service", "status", "impact", "published", "commander", "next_update_by",
                    "stale"]
    list_select_related = ["service", "commander"]
    list_filter = [ServiceFilter, "kind", "status", "impact", "published"]
    add_form = IncidentAddForm
    actions = ["post_update", "publish", "review_draft", "reschedule"]
    readonly_fields = ["kind", "status", "published", "next_update_by", "reminded_at", "started_at", "monitoring_at",
                       "resolved_at", "source_alert_id"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> type[forms.ModelForm[Any]]:
        if obj is None:  # the add form's own fields: the model's "next_update_by" is set by the service only
            kwargs["fields"] = IncidentAddForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["service", "name", "impact", "components", "component_status", "commander",
                                       "public", "body", "next_update_by", "internal_notes"]}),
                    ("Audit", {"fields": ["reason"]})]
        links = [("Maintenance", {"fields": ["scheduled_for", "scheduled_until", "auto_transition",
                                             "freeze_environments_list", "linked_freezes", "maintenance_mode"]})] \
            if obj.kind == Incident.Kind.MAINTENANCE else []
        return [(None, {"fields": ["name", "impact", "public", "commander", "internal_notes"]}),
                ("State", {"fields": self.readonly_fields}), *links, ("Review", {"fields": ["review_link"]}),
                ("Audit", {"fields": ["reason"]})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        maintenance = ["scheduled_for", "scheduled_until", "auto_transition", "freeze_environments_list",
                       "linked_freezes", "maintenance_mode"]
        return [*self.readonly_fields, *maintenance, "suggested_texts", "review_link"] if obj else []

    @admin.display(description="freezes promotions into")
    def freeze_environments_list(self, incident: Incident) -> str:
        return ", ".join(e.slug for e in incident.freeze_environments.all()) or "nothing"

    @admin.display(description="freeze windows it declared")
    def linked_freezes(self, incident: Incident) -> str:
        return admin_maintenance.linked_freezes(incident)

    @admin.display(description="maintenance mode")
    def maintenance_mode(self, incident: Incident) -> str:
        return admin_maintenance.maintenance_mode(incident)

    def schedule_maintenance_view(self, request: HttpRequest) -> HttpResponse:
        return admin_maintenance.schedule_view(self, request)

    @admin.action(description="Reschedule maintenance (its freezes follow)", permissions=["change"])
    def reschedule(self, request: HttpRequest, queryset: QuerySet[Incident]) -> HttpResponse | None:
        def apply(incident: Incident, reason: str) -> None:
            data = request._confirm_form.cleaned_data  # type: ignore[attr-defined]  # set by confirm_with_reason
            services.reschedule_maintenance(incident=incident, scheduled_for=data["scheduled_for"],
                                            scheduled_until=data["scheduled_until"], actor=request.user,
                                            reason=reason)

        return confirm_with_reason(self, request, queryset.filter(kind=Incident.Kind.MAINTENANCE)
                                   .exclude(status__in=CLOSED), title="Reschedule maintenance", action="reschedule",
                                   apply=apply, extra_form=admin_maintenance.RescheduleForm,
                                   warning="The freeze windows each maintenance declared move with it; once it is in "
                                           "progress only its end can move.")

    @admin.display(description="suggested update texts (filled from the portal's data; edit before posting)")
    def suggested_texts(self, incident: Incident) -> str:
        flow = services.INCIDENT_FLOW if incident.kind == Incident.Kind.INCIDENT else services.MAINTENANCE_FLOW
        states = sorted(flow.get(incident.status, set()))
        return format_html_join("", "<p><strong>{}</strong>: {}</p>",
                                ((state, drafts.suggested_update(incident, state)) for state in states)) or "—"

    def get_urls(self) -> list[Any]:
        return [path("schedule-maintenance/", self.admin_site.admin_view(self.schedule_maintenance_view),
                     name="status_incident_schedule_maintenance"),
                path("draft-from-alert/<int:alert_id>/", self.admin_site.admin_view(self.draft_from_alert_view),
                     name="status_incident_draft_from_alert"),
                path("<int:pk>/review.md", self.admin_site.admin_view(self.review_view),
                     name="status_incident_review"), *super().get_urls()]

    def review_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The post-incident review draft as Markdown (reads the audit trail: needs the audit timeline's view
        permission as well as the incident's)."""
        if not (self.has_view_permission(request) and request.user.has_perm("governance.view_auditevent")):
            raise PermissionDenied
        incident = Incident.objects.select_related("service", "commander").filter(pk=pk).first()
        if incident is None:
            raise Http404("No such incident.")
        response = HttpResponse(review.draft(incident), content_type="text/markdown; charset=utf-8")
        if request.GET.get("download"):
            response["Content-Disposition"] = f'attachment; filename="incident-{incident.pk}-review.md"'
        return response

    @admin.display(description="post-incident review")
    def review_link(self, incident: Incident) -> str:
        if incident.kind != Incident.Kind.INCIDENT:
            return "—"
        url = reverse("admin:status_incident_review", args=[incident.pk])
        return format_html('<a href="{}">Draft (Markdown)</a> · <a href="{}?download=1">download</a>', url, url)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        alerts = []
        if self.has_add_permission(request):
            alerts = list(SloAlert.objects.filter(resolved_at__isnull=True, action="page", service__isnull=False)
                          .select_related("service").order_by("-opened_at")[:20])
        return super().changelist_view(request, {**(extra_context or {}), "paging_alerts": alerts})

    def draft_from_alert_view(self, request: HttpRequest, alert_id: int) -> HttpResponse:
        """POST: one click on an open paging alert drafts an unpublished incident and opens it."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        alert = SloAlert.objects.select_related("service", "slo").filter(pk=alert_id).first()
        if alert is None:
            raise Http404("No such alert.")
        try:
            incident = drafts.draft_from_alert(alert=alert, actor=request.user,
                                               reason=f"drafted from SLO alert {alert.pk} (one click)")
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:status_incident_changelist"))
        self.message_user(request, "Draft incident created: check the text, then publish it.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:status_incident_change", args=[incident.pk]))

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        if change:
            fields = [f for f in form.changed_data if f in {"name", "impact", "public", "commander", "internal_notes"}]
            obj.updated_at = timezone.now()
            services.save_incident(incident=obj, actor=request.user, reason=reason, update_fields=fields)
            return
        data = form.cleaned_data
        incident = services.open_incident(
            service=data["service"], name=data["name"], body=data["body"], impact=data["impact"],
            components=data["components"], component_status=data.get("component_status") or None,
            commander=data.get("commander"), next_update_by=data.get("next_update_by"), public=data["public"],
            internal_notes=data.get("internal_notes", ""), actor=request.user, reason=reason)
        obj.pk = incident.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The service sets the affected components; the form's many-to-many save would bypass it."""

    @admin.display(description="stale", boolean=True)
    def stale(self, incident: Incident) -> bool:
        return incident.is_stale()

    @admin.action(description="Post an update (new state, body, next update)", permissions=["change"])
    def post_update(self, request: HttpRequest, queryset: QuerySet[Incident]) -> HttpResponse | None:
        def apply(incident: Incident, reason: str) -> None:
            data = request._confirm_form.cleaned_data  # type: ignore[attr-defined]  # set by confirm_with_reason
            services.post_update(incident=incident, status=data["status"], body=data["body"],
                                 next_update_by=data.get("next_update_by"), actor=request.user, reason=reason)
            if incident.kind == Incident.Kind.MAINTENANCE and incident.maintenance_mode_environment is not None:
                # what starting or completing did to maintenance mode (a release may wait for a second person)
                incident.refresh_from_db()
                self.message_user(request, f"{incident.name}: {admin_maintenance.maintenance_mode(incident)}")

        return confirm_with_reason(self, request, queryset.exclude(status__in=CLOSED - {"resolved"}),
                                   title="Post an update", action="post_update", apply=apply, extra_form=UpdateForm)

    @admin.action(description="Draft the post-incident review (Markdown; select one incident)", permissions=["view"])
    def review_draft(self, request: HttpRequest, queryset: QuerySet[Incident]) -> HttpResponse | None:
        chosen = list(queryset.filter(kind=Incident.Kind.INCIDENT)[:2])
        if len(chosen) != 1:
            self.message_user(request, "Select exactly one incident (not a maintenance).", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:status_incident_review", args=[chosen[0].pk]))

    @admin.action(description="Publish (drafts become visible on the status page)", permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Incident]) -> HttpResponse | None:
        def apply(incident: Incident, reason: str) -> None:
            services.publish_incident(incident=incident, actor=request.user, reason=reason)

        return confirm_with_reason(self, request, queryset, title="Publish incidents", action="publish", apply=apply)


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(ReadOnlyHistoryAdmin):
    list_display = ["incident", "status", "display_at", "author", "next_update_by"]
    list_select_related = ["incident"]
    list_filter = ["status"]


@admin.register(Subscriber)
class SubscriberAdmin(ReadOnlyAdmin):
    """Self-service rows of the public (double opt-in, one-click unsubscribe): shown, never edited here."""

    list_display = ["email", "created_at", "confirmed_at", "unsubscribed_at"]
    list_filter = ["confirmed_at", "unsubscribed_at"]
    search_fields = ["email"]


@admin.register(WebhookSubscriber)
class WebhookSubscriberAdmin(AuditedAdmin):
    """Staff set webhooks up (the portal never POSTs to an address the public chose); the secret stays in the
    environment variable named here."""

    list_display = ["name", "url", "secret_env", "enabled"]
    fields = ["name", "url", "secret_env", "components", "enabled"]

    def save_via_service(self, request: HttpRequest, obj: Any, form: Any, change: bool, reason: str) -> None:
        fields = [f for f in form.changed_data if f not in ("reason", "components")] if change else None
        services.save_webhook_subscriber(subscriber=obj, actor=request.user, reason=reason, update_fields=fields)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        services.set_webhook_components(subscriber=form.instance, components=form.cleaned_data["components"],
                                        actor=request.user)
