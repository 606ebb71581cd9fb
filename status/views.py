"""The public status page (no login, server-rendered, no JavaScript, cacheable with an ETag)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from governance.models import Service
from status import public, subscribers, uptime
from status.models import Component, Incident

MAX_AGE = 30
STATUS_LABEL = {"operational": "Operational", "degraded_performance": "Degraded performance",
                "partial_outage": "Partial outage", "major_outage": "Major outage",
                "under_maintenance": "Under maintenance"}


def _nested(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Top-level rows: ungrouped components and groups, each group with its `children`."""
    by_id = {c["id"]: c for c in components}
    return [dict(c, children=[by_id[i] for i in c.get("components", []) if i in by_id])
            for c in components if not c["group_id"]]


def _cached(request: HttpRequest, content: bytes, content_type: str, *, extra: dict[str, str] | None = None
            ) -> HttpResponse:
    """ETag from the bytes, 304 on a match, public max-age: every public document answers this way."""
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(content, content_type=content_type)
    response["ETag"] = etag
    for name, value in (extra or {}).items():
        response[name] = value
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    return response


def _service(slug: str | None) -> Service | None:
    if slug is None:
        return None
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        raise Http404("No such service.")
    return service


def _render(request: HttpRequest, service: Service | None) -> HttpResponse:
    rows = list(public.components_qs(service))
    bars = uptime.for_components(rows)
    components = [dict(c, label=STATUS_LABEL.get(c["status"], c["status"]),
                       bars=None if c["group"] else bars.get(int(c["id"])))
                  for c in public.components(service)]
    context = {
        "page": public.page(service), "status": public.status(service),
        "components": _nested(components),
        "active": list(public.open_items(service)),
        "upcoming": [i for i in public.incidents_qs(service).filter(kind=Incident.Kind.MAINTENANCE,
                                                                    status=Incident.Status.SCHEDULED)],
        "history": public.history(service), "service": service, "days": public.HISTORY_DAYS,
    }
    html = render_to_string("status/page.html", context, request=None)
    return _cached(request, html.encode(), "text/html; charset=utf-8")


@require_safe
def portal_page(request: HttpRequest) -> HttpResponse:
    return _render(request, None)


@require_safe
def service_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _render(request, _service(slug))


@require_safe
def feed(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """The Atom feed of public incidents and maintenances (the 50 most recently updated), like Statuspage's
    history.atom: one entry per incident, its updates newest first as the entry's content."""
    service = _service(slug)
    return _cached(request, public.atom(service, request.build_absolute_uri("/")), "application/atom+xml; charset=utf-8")


@require_safe
def uptime_json(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """The 90-day uptime per public component (the page's bars as data), with CORS like the v2 API."""
    service = _service(slug)
    rows = list(public.components_qs(service))
    bars = uptime.for_components(rows)
    body = {"page": public.page(service), "days": uptime.DAYS,
            "components": [{"id": str(c.pk), "name": c.name, **bars[c.pk].as_json()} for c in rows]}
    return _cached(request, json.dumps(body, sort_keys=True).encode(), "application/json",
                   extra={"Access-Control-Allow-Origin": "*"})


# --- subscribers (public, no login; no session, so no CSRF to protect) ----------------------------------


def _message(title: str, text: str, status: int = 200, form: str = "") -> HttpResponse:
    html = render_to_string("status/message.html", {"title": title, "text": text, "form": form})
    return HttpResponse(html, status=status)


@csrf_exempt
@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    ids = [i for i in request.POST.getlist("component") if i.isdigit() and len(i) < 19]
    chosen = list(Component.objects.filter(pk__in=ids, public=True))
    try:
        subscribers.subscribe(email=request.POST.get("email", "")[:254], components=chosen)
    except ValidationError as exc:
        return _message("Not subscribed", "; ".join(exc.messages), status=400)
    return _message("Check your inbox", "We sent a confirmation link; nothing is sent before you confirm.")


@require_safe
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    if subscribers.confirm(token=token) is None:
        return _message("Link not valid", "The link is wrong, expired or already used to unsubscribe.", status=404)
    return _message("Subscribed", "You will receive an email for each incident update.")


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links); POST unsubscribes: the RFC 8058 one-click request."""
    if request.method != "POST":
        return _message("Unsubscribe", "Stop the status emails?", form=request.path)
    if subscribers.unsubscribe(token=token) is None:
        return _message("Link not valid", "This subscription does not exist any more.", status=404)
    return _message("Unsubscribed", "You will not receive status emails any more.")
