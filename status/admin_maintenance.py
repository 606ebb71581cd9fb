"""Admin pages of scheduled maintenance: schedule it (with what it freezes and whether it engages maintenance
mode, shown in words before confirming), reschedule it, and see the freezes it declared."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from governance import hooks
from governance.admin_tools import ReasonForm
from governance.models import Environment, Service
from status import services
from status.models import Component, Incident
from status.services import maintenance


class ScheduleMaintenanceForm(ReasonForm):
    service = forms.ModelChoiceField(queryset=Service.objects.all())
    name = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=10000,
                           help_text="The first public update (subscribers hear of it).")
    components = forms.ModelMultipleChoiceField(queryset=Component.objects.select_related("service"),
                                                required=False, help_text="Under maintenance while in progress.")
    scheduled_for = forms.DateTimeField(help_text="Start (UTC).")
    scheduled_until = forms.DateTimeField(help_text="End (UTC).")
    public = forms.BooleanField(required=False, initial=True)
    freeze_environments = forms.ModelMultipleChoiceField(
        queryset=Environment.objects.all(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Promotions of the service into these environments are refused during the window (a release "
                  "manager can override). Production is ticked by default.")
    maintenance_mode_environment = forms.ModelChoiceField(
        queryset=Environment.objects.all(), required=False, empty_label="do not engage maintenance mode",
        help_text="Engage the service's maintenance_mode here when the maintenance moves to in progress; "
                  "completing it releases it.")
    auto_transition = forms.BooleanField(
        required=False, label="Start and complete automatically",
        help_text="Move to in progress at the start and to completed at the end by itself (a standard update "
                  "each time); otherwise a person posts each step.")

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if user is None or user.has_perm(maintenance.FREEZE_PERMISSION):
            self.fields["freeze_environments"].initial = [e.pk for e in maintenance.default_freeze_environments()]
        else:
            self.fields["freeze_environments"].help_text += (" You may not freeze promotions (a release manager "
                                                             "can); leave these unticked.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("scheduled_for"), data.get("scheduled_until")
        if start and end and end <= start:
            self.add_error("scheduled_until", "The window must end after it starts.")
        if self.user is not None:
            try:
                maintenance.check_grants(self.user, freeze_environments=data.get("freeze_environments"),
                                         maintenance_mode_environment=data.get("maintenance_mode_environment"))
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field, errors)
        service = data.get("service")
        for component in data.get("components") or []:
            if service and component.service_id != service.pk:
                self.add_error("components", f"{component} belongs to another service.")
        if service and not self.errors:
            try:
                maintenance.check_links(service=service, freeze_environments=list(data["freeze_environments"]),
                                        maintenance_mode_environment=data.get("maintenance_mode_environment"),
                                        length=end - start if start and end else None)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return data


class RescheduleForm(ReasonForm):
    scheduled_for = forms.DateTimeField(help_text="New start (UTC); once in progress only the end can move.")
    scheduled_until = forms.DateTimeField(help_text="New end (UTC). The freezes it declared follow.")


def schedule_view(modeladmin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: the consequences in words; POST with `confirm`: schedule it."""
    if not modeladmin.has_add_permission(request):
        raise PermissionDenied
    form = ScheduleMaintenanceForm(request.POST or None, user=request.user)
    consequences: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        consequences = maintenance.consequences(
            service=data["service"], scheduled_for=data["scheduled_for"], scheduled_until=data["scheduled_until"],
            freeze_environments=data["freeze_environments"],
            maintenance_mode_environment=data.get("maintenance_mode_environment"),
            auto_transition=data.get("auto_transition", False))
        # Confirmed only what was shown: a field changed on the confirmation page shows the consequences again.
        # Browsers send a form value's line breaks as CRLF (HTML's form encoding): compare line by line.
        shown = (request.POST.get("previewed") or "").replace("\r\n", "\n").replace("\r", "\n")
        if request.POST.get("confirm") == "yes" and shown == "\n".join(consequences):
            try:
                incident = services.schedule_maintenance(
                    service=data["service"], name=data["name"], body=data["body"], components=data["components"],
                    scheduled_for=data["scheduled_for"], scheduled_until=data["scheduled_until"],
                    public=data["public"], freeze_environments=data["freeze_environments"],
                    maintenance_mode_environment=data.get("maintenance_mode_environment"),
                    auto_transition=data.get("auto_transition", False), actor=request.user, reason=data["reason"])
            except ValidationError as exc:
                modeladmin.message_user(request, f"Not scheduled: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"Maintenance '{incident}' scheduled.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:status_incident_change", args=[incident.pk]))
    context = {**modeladmin.admin_site.each_context(request), "title": "Schedule maintenance", "form": form,
               "consequences": consequences, "previewed": "\n".join(consequences), "opts": modeladmin.model._meta}
    return TemplateResponse(request, "admin/status/schedule_maintenance.html", context)


def linked_freezes(incident: Incident) -> str:
    """The freeze windows a maintenance declared, linked to the releases admin."""
    if incident.kind != Incident.Kind.MAINTENANCE:
        return "—"
    rows = [row for lookup in hooks.MAINTENANCE_FREEZES for row in lookup(maintenance_id=incident.pk)]
    if not rows:
        return "none"
    return format_html_join(mark_safe("<br>"), '<a href="{1}">{0}</a>', rows)


def maintenance_mode(incident: Incident) -> str:
    env = incident.maintenance_mode_environment
    if incident.kind != Incident.Kind.MAINTENANCE or env is None:
        return "not engaged by this maintenance"
    describe = hooks.MAINTENANCE_MODE.get("describe")
    outcome = incident.maintenance_mode_outcome
    # After completion the flag has moved on (released, or a change request raised): not "changed by someone".
    revision = None if outcome else incident.maintenance_mode_revision
    now = describe(service=incident.service, environment=env, revision=revision) if describe is not None else ""
    if outcome:
        done = {"released": "released at completion",
                "change-request": "switching it off at completion needs a second person (change request)",
                "left": "left alone at completion: someone changed it during the window"}.get(outcome, outcome)
        return f"engaged in {env.slug} by this maintenance; {done}; now: {now}"
    if incident.maintenance_mode_revision is not None:
        return f"engaged in {env.slug} by this maintenance (flag revision {incident.maintenance_mode_revision}); now: {now}"
    if incident.status in (Incident.Status.SCHEDULED,):
        return f"engaged in {env.slug} when it moves to in progress (unless already on); now: {now}"
    return f"not engaged by this maintenance (already on when it started, or it never started); now: {now}"
