"""The public status page (no login, server-rendered, no JavaScript, cacheable with an ETag)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from governance.models import Service
from status import public
from status.models import Incident

MAX_AGE = 30
STATUS_LABEL = {"operational": "Operational", "degraded_performance": "Degraded performance",
                "partial_outage": "Partial outage", "major_outage": "Major outage",
                "under_maintenance": "Under maintenance"}


def _nested(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Top-level rows: ungrouped components and groups, each group with its `children`."""
    by_id = {c["id"]: c for c in components}
    return [dict(c, children=[by_id[i] for i in c.get("components", []) if i in by_id])
            for c in components if not c["group_id"]]


def _render(request: HttpRequest, service: Service | None) -> HttpResponse:
    components = [dict(c, label=STATUS_LABEL.get(c["status"], c["status"])) for c in public.components(service)]
    context = {
        "page": public.page(service), "status": public.status(service),
        "components": _nested(components),
        "active": list(public.open_items(service)),
        "upcoming": [i for i in public.incidents_qs(service).filter(kind=Incident.Kind.MAINTENANCE,
                                                                    status=Incident.Status.SCHEDULED)],
        "history": public.history(service), "service": service, "days": public.HISTORY_DAYS,
    }
    html = render_to_string("status/page.html", context, request=None)
    etag = '"' + hashlib.sha256(html.encode()).hexdigest()[:32] + '"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(html)
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    return response


@require_safe
def portal_page(request: HttpRequest) -> HttpResponse:
    return _render(request, None)


@require_safe
def service_page(request: HttpRequest, slug: str) -> HttpResponse:
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        raise Http404("No such service.")
    return _render(request, service)
