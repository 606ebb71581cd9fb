"""Bad input to the admin's custom actions and views, as a superuser: messages and form errors, never a 500.

Derived from the admin site's registry: every ModelAdmin's actions (confirm-with-reason pages with missing or
garbage reasons and extra fields, empty selections, unknown and malformed ids), every custom view of its
get_urls() (ops console, DORA, SLO pages …) with unknown and malformed parameters and form data, the change
and history pages with malformed object ids, and the change lists with garbage search and filter parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import URLPattern, reverse
from django.utils import timezone

from tests.governance.robustness import RowCounter, isolated, recording

BIG = str(2**63)
BAD_IDS = ["999999999", "0", "-1", BIG, "abc", "\x00", "1 OR 1=1", "x" * 300]
BAD_FIELD_VALUES = ["", "\x00", "a\x00b", "x" * 10_000, "-1", BIG, "nan", "1e999", "abc", "ü😀", '{"a": "\\u0000"}']
BAD_QUERIES: list[dict[str, str]] = [
    {"q": "a\x00b"}, {"q": "x" * 10_000}, {"o": "abc.-99"}, {"p": "-1"}, {"p": "abc"}, {"all": "\x00"},
    {"e": "1"}, {"_changelist_filters": "a\x00b"},
]
PROJECT_APPS = {"governance", "flags", "releases", "schemaplans", "recovery", "observability", "status", "chaos"}
STANDARD_VIEWS = ("_changelist", "_add", "_history", "_delete", "_change", "_simple_history", "_autocomplete")


@pytest.fixture
def world(service, system_user, make_user, make_token, production, tmp_path) -> dict[str, Any]:
    """At least one row for every model whose admin has actions, so each action reaches its confirm page."""
    from flags import services as flag_services
    from flags.models import FlagState, Segment
    from governance import roles
    from governance import services as core
    from observability import services as slo_services
    from observability.models import NotificationChannel, Slo, SloAlert
    from recovery import services as recovery_services
    from releases import services as release_services
    from releases.models import FreezeWindow, GatePolicy, RecurringFreeze
    from schemaplans import services as plan_services

    for version in ("1.0.0", "1.1.0"):  # two live releases: one to roll back to
        release = release_services.register_release(service=service, version=version, build_sha="c0ffee" + "0" * 34,
                                                    actor=system_user, reason="fixture").release
        release_services.record_deployment(release=release, environment=production, status="succeeded",
                                           actor=system_user, reason="fixture")
    plan = plan_services.create_plan(service=service, slug="orders-status-code", table="orders",
                                     columns=["status_code"], verification_sql="SELECT 0", actor=system_user,
                                     reason="fixture")
    plan_services.create_backfill(name="orders: copy status", table="orders", plan=plan,
                                  sql="UPDATE orders SET status_code = 1 WHERE id >= %(lo)s AND id < %(hi)s",
                                  actor=system_user, reason="fixture")
    recovery_services.create_backup_target(name="shop-db", dsn_env="GOV_FUZZ_UNSET_DSN", service=service,
                                           directory=str(tmp_path / "backups"), actor=system_user, reason="fixture")
    flag = flag_services.create_flag(service=service, key="new-checkout", actor=system_user, reason="fixture")
    state = FlagState.objects.get(flag=flag, environment=production)
    operator = make_user("olga", roles.OPERATOR)
    flag_services.set_enabled(state=state, enabled=True, actor=operator, reason="fixture: needs a second person")
    flag_services.schedule_change(state=state, operation="set_enabled", payload={"enabled": False},
                                  run_at=timezone.now() + timedelta(days=1), actor=system_user, reason="fixture")
    slo = Slo.objects.filter(service=service).first()  # every service starts with default SLOs
    core.save_audited(instance=SloAlert(kind="burn_rate", dedupe_key="fixture", slo=slo, service=service,
                                        severity="critical", summary="fixture"), actor=system_user, reason="fixture")
    slo_services.grant_error_budget_override(service=service, expires_at=timezone.now() + timedelta(hours=1),
                                             actor=make_user("root", superuser=True), reason="fixture")
    flag_services.save_segment(segment=Segment(name="beta-testers", constraints=[]), actor=system_user,
                               reason="fixture")
    slo_services.save_channel(channel=NotificationChannel(name="ops", kind="slack", url="https://chat.example/hook",
                                                          severities=["critical"]), actor=system_user, reason="fixture")
    core.save_audited(instance=GatePolicy(service=service, environment=production), actor=system_user,
                      reason="fixture")
    core.save_audited(instance=FreezeWindow(title="Quarter end", environment=production, starts_at=timezone.now(),
                                            ends_at=timezone.now() + timedelta(days=1)), actor=system_user,
                      reason="fixture")
    release_services.save_recurring_freeze(
        rule=RecurringFreeze(title="Weekend", environment=production, cron="0 16 * * 5", time_zone="Europe/Paris",
                             duration_minutes=3840), actor=system_user, reason="fixture")
    make_token("flags:read")
    _status_rows(service, operator, system_user)
    _chaos_rows(service, system_user)
    kill_switch = FlagState.objects.get(flag__service=service, flag__key="kill_switch_api", environment=production)
    return {"service": service.slug, "service_id": service.pk, "state_id": kill_switch.pk, "action": "engage"}


def _chaos_rows(service: Any, system_user: Any) -> None:
    """An experiment, a pending run in preview, a fault in force (the chaos admins' actions)."""
    from chaos import ctk
    from chaos import services as chaos_services
    from governance.models import Environment

    preview = Environment.objects.get(slug="preview")
    chaos_services.set_policy(environment=preview, allow_chaos=True, actor=system_user, reason="fixture")
    experiment = chaos_services.save_experiment(service=service, key="fixture-drill", actor=system_user,
                                                reason="fixture", definition={
        "title": "fixture", "description": "fixture", "method": [ctk.fault_action(name="inject", service=service.slug, environment="preview",
                                                        kind="http_errors", params={}, reason="fixture")]})
    run = chaos_services.request_run(experiment=experiment, environment=preview, actor=system_user, reason="fixture")
    chaos_services.create_fault(service=service, environment=preview, kind="http_latency", ttl_seconds=600,
                                actor=system_user, reason="fixture", run=run)


def _status_rows(service: Any, operator: Any, system_user: Any) -> None:
    """A group, a component, an open incident with a commander, a webhook subscriber and a scheduled maintenance
    (the status admins)."""
    from status import services as status_services
    from status.models import Component, ComponentGroup, WebhookSubscriber

    group = status_services.save_group(group=ComponentGroup(service=service, name="Backend"), actor=system_user,
                                       reason="fixture")
    component = status_services.save_component(component=Component(service=service, name="API", group=group),
                                               actor=system_user, reason="fixture")
    status_services.open_incident(service=service, name="Checkout errors", body="Investigating.",
                                  components=[component], commander=operator, actor=system_user, reason="fixture",
                                  next_update_by=timezone.now() + timedelta(minutes=30))
    status_services.save_webhook_subscriber(
        subscriber=WebhookSubscriber(name="partner", url="https://partner.example/status", secret_env="PARTNER_SECRET"),
        actor=system_user, reason="fixture")
    start = timezone.now() + timedelta(days=1)
    status_services.schedule_maintenance(service=service, name="Database upgrade", body="PostgreSQL 17.",
                                         scheduled_for=start, scheduled_until=start + timedelta(hours=1),
                                         components=[component], actor=system_user, reason="fixture")


@pytest.fixture
def superuser(make_user) -> Any:
    return make_user("sudo", superuser=True)


@pytest.fixture
def superuser_client(superuser) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return client


def registry() -> list[tuple[type[Model], admin.ModelAdmin]]:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _ours(model_admin: admin.ModelAdmin) -> bool:
    return type(model_admin).__module__.split(".")[0] in PROJECT_APPS


def _url_name(model: type[Model], view: str) -> str:
    return f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"


# --- actions ------------------------------------------------------------------------------------------


def action_requests(model: type, model_admin: admin.ModelAdmin, superuser: Any, client: Client,
                    ) -> Iterator[tuple[str, dict[str, Any]]]:
    request = RequestFactory().get("/")
    request.user = superuser
    names = sorted(model_admin.get_actions(request))
    existing = [str(pk) for pk in model_admin.get_queryset(request).values_list("pk", flat=True)[:2]]
    for name in names:
        base = {"action": name, "index": "0"}
        yield f"{name}: empty selection", base
        yield f"{name}: selection across all with garbage", {**base, "select_across": "\x00"}
        # Hand-written selections only for the portal's own admins: axes' and django-q's are theirs to fix
        for bad in BAD_IDS if _ours(model_admin) else ["999999999"]:
            yield f"{name}: selected id {bad[:12]!r}", {**base, "_selected_action": [bad]}
            yield f"{name}: confirmed with selected id {bad[:12]!r}", {
                **base, "_selected_action": [bad], "confirm": "yes", "reason": "robustness"}
        if not existing:
            continue
        selected = {**base, "_selected_action": existing}
        yield f"{name}: confirmation page", selected
        yield f"{name}: confirmed without a reason", {**selected, "confirm": "yes"}
        page = client.post(reverse(_url_name(model, "changelist")), selected)
        form = page.context.get("form") if page.status_code == 200 and page.context else None
        fields = list(form.fields) if form is not None else ["reason"]
        valid = {f: (form[f].value() if form is not None and form[f].value() is not None else "robustness")
                 for f in fields}
        valid["reason"] = "robustness"
        for field in fields:
            for bad in BAD_FIELD_VALUES:
                yield f"{name}: confirmed with {field} = {bad[:12]!r}", {
                    **selected, "confirm": "yes", **valid, field: bad}
        yield f"{name}: confirmed", {**selected, "confirm": "yes", **valid}


@pytest.mark.parametrize(("model", "model_admin"), [pytest.param(m, a, id=m._meta.label) for m, a in registry()
                                                    if a.actions])
def test_admin_actions__answer_bad_input_without_a_500(model, model_admin, world, superuser, superuser_client):
    url = reverse(_url_name(model, "changelist"))
    counter = RowCounter()
    with recording() as recorder:
        for label, data in action_requests(model, model_admin, superuser, superuser_client):
            isolated(recorder, counter, f"POST {url} [{label}]", partial(superuser_client.post, url, data))
    recorder.assert_clean()


# --- custom views -------------------------------------------------------------------------------------


def custom_views() -> list[tuple[str, type, URLPattern]]:
    views = []
    for model, model_admin in registry():
        for pattern in model_admin.get_urls():
            if isinstance(pattern, URLPattern) and pattern.name and not pattern.name.endswith(STANDARD_VIEWS):
                views.append((pattern.name, model, pattern))
    return views


def test_custom_views__are_found():
    names = {name for name, _, _ in custom_views()}
    assert {"flags_ops_index", "flags_ops_console", "flags_ops_action", "flags_stale_report",
            "releases_release_dora", "observability_slo_service"} <= names


def _garbage_for(converter: Any) -> list[str]:
    kind = type(converter).__name__
    if kind == "IntConverter":
        return ["0", "999999999", BIG]
    if kind == "SlugConverter":
        return ["nope", "x" * 300]
    return ["nope", "\x00", "x" * 300, "ü😀", "a b"]


@pytest.mark.parametrize(("name", "model", "pattern"), [pytest.param(*v, id=v[0]) for v in custom_views()])
def test_custom_views__answer_bad_input_without_a_500(name, model, pattern, world, superuser_client):
    converters = pattern.pattern.converters
    valid = {param: str(world.get(param, "1")) for param in converters}
    urls = [reverse(f"admin:{name}", kwargs=valid)]
    for param, converter in converters.items():
        urls += [reverse(f"admin:{name}", kwargs={**valid, param: bad}) for bad in _garbage_for(converter)]
    counter = RowCounter()
    with recording() as recorder:
        for url in urls:
            page = isolated(recorder, counter, f"GET {url[:120]}", partial(superuser_client.get, url))
            isolated(recorder, counter, f"GET {url[:120]} with garbage parameters",
                     partial(superuser_client.get, url, {"service": "abc", "period": "\x00", "weeks": BIG}))
            isolated(recorder, counter, f"POST {url[:120]} empty", partial(superuser_client.post, url, {}))
            form = page.context.get("form") if page is not None and page.status_code == 200 and page.context else None
            if form is None or not form.fields:
                continue
            base = {f: form[f].value() if form[f].value() is not None else "1" for f in form.fields}
            base["reason"] = "robustness"
            for field in form.fields:
                for bad in BAD_FIELD_VALUES:
                    isolated(recorder, counter, f"POST {url[:120]} {field} = {bad[:12]!r}",
                             partial(superuser_client.post, url, {**base, field: bad}))
            isolated(recorder, counter, f"POST {url[:120]} valid", partial(superuser_client.post, url, base))
    recorder.assert_clean()


# --- change pages and lists ---------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "model_admin"), [pytest.param(m, a, id=m._meta.label) for m, a in registry()])
def test_object_pages_and_lists__answer_bad_ids_and_parameters_without_a_500(model, model_admin, world,
                                                                              superuser_client):
    counter = RowCounter()
    changelist = reverse(_url_name(model, "changelist"))
    filters = [getattr(f, "parameter_name", None) or (f if isinstance(f, str) else f[0])
               for f in model_admin.list_filter]
    queries = [*BAD_QUERIES, *({f"{name}": bad} for name in filters for bad in ("abc", "\x00", "x" * 300)),
               *({f"{name}__exact": bad} for name in filters if isinstance(name, str) for bad in ("abc", "\x00"))]
    with recording() as recorder:
        for query in queries:
            isolated(recorder, counter, f"GET {changelist} {query}",
                     partial(superuser_client.get, changelist, query))
        for bad in BAD_IDS:
            for view in ("change", "history"):
                url = reverse(_url_name(model, view), args=[bad])
                isolated(recorder, counter, f"GET {url[:120]}", partial(superuser_client.get, url))
            url = reverse(_url_name(model, "change"), args=[bad])
            isolated(recorder, counter, f"POST {url[:120]}",
                     partial(superuser_client.post, url, {"reason": "robustness"}))
    recorder.assert_clean()


# --- change forms, submitted as a browser would -------------------------------------------------------

FORM_VALUES = ["", "a\x00b", "x" * 10_000, BIG, "nan", '{"a": "\\u0000"}', '[{"name": "\\u0000"}]',
               '{"\\u0000": 1}', '[{"a": {"\\u0000": "b"}}]', "[" * 33 + "]" * 33, "[" * 900 + "]" * 900]


class FormFields(HTMLParser):
    """What a browser submits for the admin's change form: its inputs, checked boxes, selected options, text."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._form: str | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._form = a["id"]
        name = a.get("name", "")
        if not self._form or not name and tag != "option":
            return
        if tag == "input" and a.get("type", "text") not in ("submit", "button", "image", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.data.setdefault(name, []).append(a.get("value", "on"))
        elif tag == "select":
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][-1] += data.removeprefix("\n") if not self.data[self._textarea][-1] else data


def editable() -> list[tuple[type[Model], admin.ModelAdmin]]:
    """The portal's admins whose change page is a form (for a superuser); the others only show rows."""
    from django.contrib.auth import get_user_model

    request = RequestFactory().get("/")
    request.user = get_user_model()(is_superuser=True, is_active=True, is_staff=True)
    return [(m, a) for m, a in registry()
            if m._meta.app_label in PROJECT_APPS and a.has_change_permission(request, m())]


@pytest.mark.parametrize(("model", "model_admin"), [pytest.param(m, a, id=m._meta.label) for m, a in editable()])
def test_change_forms__answer_garbage_fields_without_a_500(model, model_admin, world, superuser, superuser_client):
    request = RequestFactory().get("/")
    request.user = superuser
    obj = model_admin.get_queryset(request).first()
    assert obj is not None, f"give the world fixture a {model._meta.verbose_name} to edit"
    url = reverse(_url_name(model, "change"), args=[obj.pk])
    parser = FormFields()
    parser.feed(superuser_client.get(url).content.decode())
    browser = {**parser.data, "_save": ["Save"]}
    counter = RowCounter()
    with recording() as recorder:
        isolated(recorder, counter, f"POST {url} without a reason",
                 lambda: superuser_client.post(url, {**browser, "reason": [""]}))
        isolated(recorder, counter, f"POST {url} as shown", lambda: superuser_client.post(url, browser))
        for field in sorted(set(browser) - {"csrfmiddlewaretoken", "_save"}):
            for bad in FORM_VALUES:
                isolated(recorder, counter, f"POST {url} {field} = {bad[:16]!r}",
                         partial(superuser_client.post, url, {**browser, "reason": ["robustness"], field: [bad]}))
    recorder.assert_clean()
