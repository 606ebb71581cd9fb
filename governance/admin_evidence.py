"""The evidence pack in the admin: an auditor picks a range (and a service) and downloads the signed archive.

Same permission as the audit export (governance.export_auditevent: Auditor, Administrator): the pack holds the
audit export. Streamed while it is built (the browser's download shows the progress; the sections are read
before the first byte, so a failing section is an error page, not a broken file). `manage.py evidence_pack`
writes the same archive to a file (docs/COMPLIANCE.md).
"""

from __future__ import annotations

import itertools
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse

from governance import evidence_pack
from governance.models import Service

EXPORT_PERMISSION = "governance.export_auditevent"


class EvidencePackForm(forms.Form):
    start = forms.DateTimeField(label="From", help_text="Inclusive, e.g. 2026-01-01 00:00")
    end = forms.DateTimeField(label="To", help_text="Exclusive")
    service = forms.ModelChoiceField(queryset=Service.objects.order_by("slug"), required=False, to_field_name="slug",
                                     empty_label="every service")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end"):
            try:
                evidence_pack.validate_range(data["start"], data["end"])
            except ValidationError as exc:
                raise forms.ValidationError(exc.messages) from None
        return data


def evidence_pack_view(model_admin: Any, request: HttpRequest) -> HttpResponseBase:
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied("An evidence pack holds the audit export: it needs the Auditor or Administrator role.")
    form = EvidencePackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        start, end, service = form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["service"]
        chunks = evidence_pack.stream_pack(actor=request.user, start=start, end=end, service=service)
        try:
            first = next(chunks)  # the sections run here: a failing one is a message, not half a download
        except evidence_pack.SectionFailed as exc:
            messages.error(request, f"The evidence pack could not be built: {exc}")
        else:
            response = StreamingHttpResponse(itertools.chain([first], chunks), content_type="application/zip")
            response["Content-Disposition"] = f'attachment; filename="{evidence_pack.pack_name(start, end, service)}"'
            response["Cache-Control"] = "no-store"
            return response
    context = {**model_admin.admin_site.each_context(request), "title": "Evidence pack for auditors", "form": form,
               "opts": model_admin.model._meta}
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, "admin/governance/auditevent/evidence_pack.html", context, status=status)
