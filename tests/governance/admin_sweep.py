"""The admin write sweep's parts: a row-level snapshot of the database, the POSTs to send and who may write.

Used by tests/governance/test_admin_write_sweep.py. Everything is derived from the admin site's registry, so a
new ModelAdmin, action or custom view is swept without editing the test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django.urls import URLPattern, reverse

from governance.audit_base import Audited

# Tables a request may write whatever the role: the login session, the lockout counters, Django's own log of
# admin actions (not the audit trail).
EXCLUDED_TABLES = {"django_session", "django_admin_log"}
EXCLUDED_PREFIXES = ("axes_",)
STANDARD_VIEWS = ("_changelist", "_add", "_history", "_delete", "_change", "_simple_history", "_autocomplete")
# Custom admin views that write, and the permission a write needs (the others must never write).
CUSTOM_WRITES = {
    "flags_ops_action": "flags.change_flagstate",
    # a signed export records itself (AuditExport) and the public key that signed it
    "governance_auditevent_export": "governance.export_auditevent",
    # one click on a paging alert drafts an (unpublished) incident
    "status_incident_draft_from_alert": "status.add_incident",
    # halt all chaos removes every active fault (on-call roles hold it: docs/CHAOS.md)
    "chaos_halt": "chaos.halt_chaos",
}
REASON = "admin write sweep"


# --- the database, row by row -------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    name: str
    pk: str
    model: type[models.Model]


def _tables() -> list[Table]:
    found = {}
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if not model._meta.managed or model._meta.proxy or table in EXCLUDED_TABLES:
            continue
        if table.startswith(EXCLUDED_PREFIXES):
            continue
        found[table] = Table(table, str(model._meta.pk.column), model)
    return sorted(found.values(), key=lambda t: t.name)


class Snapshot:
    """Every row of every table as (table, pk) -> md5 of the row's text, in one query."""

    def __init__(self) -> None:
        self.tables = _tables()
        q = connection.ops.quote_name
        self.sql = " UNION ALL ".join(
            f"SELECT {i}, t.{q(t.pk)}::text, md5(t::text) FROM {q(t.name)} t" for i, t in enumerate(self.tables))
        self.governed = {t.name: t.model for t in self.tables
                         if issubclass(t.model, Audited) and not t.model._meta.abstract}

    def take(self) -> dict[tuple[str, str], str]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql)
            return {(self.tables[i].name, pk): digest for i, pk, digest in cursor.fetchall()}

    @staticmethod
    def changed(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]) -> set[tuple[str, str]]:
        """(table, pk) of every row added, removed or modified."""
        return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}

    def unrecorded(self, changed: set[tuple[str, str]], before: dict[tuple[str, str], str]) -> list[str]:
        """Changed governed rows without a new history row and a new audit event for them."""
        missing = []
        from governance.models import AuditEvent

        new_events = {int(pk) for table, pk in changed
                      if table == AuditEvent._meta.db_table and (table, pk) not in before}
        audited = set(AuditEvent.objects.filter(pk__in=new_events).values_list("model", "object_id"))
        for table, pk in sorted(changed):
            model = self.governed.get(table)
            if model is None:
                continue
            history = model.history.model
            new_history = {int(h) for t, h in changed
                           if t == history._meta.db_table and (t, h) not in before}
            if not history.objects.filter(history_id__in=new_history, **{model._meta.pk.attname: pk}).exists():
                missing.append(f"{model._meta.label} {pk}: no new history row")
            if (model._meta.label_lower, pk) not in audited:
                missing.append(f"{model._meta.label} {pk}: no new audit event")
        return missing


# --- what a browser would post ------------------------------------------------------------------------


class FormInputs(HTMLParser):
    """The change form's fields as a browser submits them, with each input's type."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.types: dict[str, str] = {}
        self._form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._form = True
        name = a.get("name", "")
        if not self._form or not name and tag != "option":
            return
        if tag == "input" and a.get("type", "text") not in ("submit", "button", "image", "file"):
            kind = a.get("type", "text")
            self.types.setdefault(name, kind)
            self.data.setdefault(name, [])
            if kind in ("checkbox", "radio") and "checked" in a:
                self.data[name].append(a.get("value", "on"))
            elif kind not in ("checkbox", "radio"):
                self.data[name].append(a.get("value", ""))
        elif tag == "select":
            self._select = name
            self.types[name] = "select"
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            self.types[name] = "textarea"
            self.data[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = False

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][-1] += data.removeprefix("\n") if not self.data[self._textarea][-1] else data


def form_inputs(html: bytes) -> FormInputs:
    parser = FormInputs()
    parser.feed(html.decode())
    return parser


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, (datetime, date, Decimal)):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    return str(value)


def row_values(obj: models.Model) -> dict[str, list[str]]:
    """The row's own values as form data (what a hand-written POST for this row would carry)."""
    data: dict[str, list[str]] = {}
    for f in obj._meta.concrete_fields:
        if f.primary_key or not f.editable:
            continue
        value = getattr(obj, f.attname)
        if isinstance(f, models.BooleanField):
            data[f.name] = ["on"] if value else []
        elif isinstance(f, ArrayField):
            data[f.name] = [",".join(str(v) for v in value or [])]
        elif isinstance(f, models.DateTimeField) and value is not None:
            data[f.name] = [value.isoformat()]
            data[f"{f.name}_0"], data[f"{f.name}_1"] = [value.date().isoformat()], [value.time().isoformat()]
        elif isinstance(f, models.JSONField):
            data[f.name] = [json.dumps(value)]
        else:
            data[f.name] = [_text(value)]
    if obj.pk is not None:
        for m2m in obj._meta.many_to_many:
            data[m2m.name] = [str(pk) for pk in getattr(obj, m2m.name).values_list("pk", flat=True)]
    return data


TEXT_FIRST = ("name", "title", "description", "summary", "owners", "message", "notes")


def one_field_changed(obj: models.Model, data: dict[str, list[str]]) -> tuple[dict[str, list[str]], str]:
    """`data` with one of the row's fields changed (a name renamed, a switch flipped, a number raised)."""
    fields = [f for f in obj._meta.concrete_fields if f.editable and not f.primary_key and f.name in data]
    texts: list[Any] = sorted((f for f in fields if isinstance(f, (models.CharField, models.TextField)) and not f.choices
                    and not isinstance(f, models.SlugField)),
                   key=lambda f: TEXT_FIRST.index(f.name) if f.name in TEXT_FIRST else len(TEXT_FIRST))
    changed = dict(data)
    if texts:
        f = texts[0]
        changed[f.name] = [(data[f.name][0] if data[f.name] else "") + " (swept)"]
        return changed, f.name
    for f in fields:
        if isinstance(f, models.BooleanField):
            changed[f.name] = [] if data[f.name] else ["on"]
            return changed, f.name
    for f in fields:
        if isinstance(f, (models.IntegerField, models.FloatField, models.DecimalField)) and data[f.name] \
                and data[f.name][0] not in ("", "None"):
            changed[f.name] = [str(int(float(data[f.name][0])) + 1)]
            return changed, f.name
    return changed, "(none)"


TYPED = ("text", "number", "email", "url", "textarea", "date", "time", "datetime-local")


def new_row(obj: models.Model, shown: FormInputs) -> dict[str, list[str]]:
    """The add form's data, its empty typed-in fields copied from an existing row and its unique texts made
    new (what someone adding a similar row would type)."""
    row = row_values(obj)
    made = dict(shown.data)
    for name, values in shown.data.items():
        copied = row.get(name, [])
        if any(values) or not any(copied):
            continue
        if shown.types.get(name) in TYPED:
            made[name] = copied
        elif shown.types.get(name) in ("select", "checkbox"):  # a choice: the row's, a JSON list as its items
            made[name] = [str(v) for v in json.loads(copied[0])] if copied[0].startswith("[") else copied
    for f in obj._meta.concrete_fields:
        if f.name in made and isinstance(f, models.CharField) and (f.unique or f.name in ("slug", "key", "name",
                                                                                          "title", "version")):
            made[f.name] = [(made[f.name][0] if made[f.name] else "x") + "-swept"]
    return made


# --- the cases ----------------------------------------------------------------------------------------


@dataclass
class Case:
    """One POST of the sweep; `needs` is what a role must hold for it to write (None: nobody may)."""

    model_admin: admin.ModelAdmin
    kind: str
    url: str
    data: dict[str, Any]
    obj: models.Model | None = None
    needs: str | None = None
    action: Any = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.model_admin.model._meta.label} {self.kind}"


def registry() -> list[tuple[type[models.Model], admin.ModelAdmin]]:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def url_name(model: type[models.Model], view: str) -> str:
    return f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"


def custom_patterns(model_admin: admin.ModelAdmin) -> list[URLPattern]:
    return [p for p in model_admin.get_urls()
            if isinstance(p, URLPattern) and p.name and not p.name.endswith(STANDARD_VIEWS)]


def custom_url(pattern: URLPattern, world: dict[str, Any]) -> str:
    kwargs = {param: str(world.get(param, "1")) for param in pattern.pattern.converters}
    return reverse(f"admin:{pattern.name}", kwargs=kwargs)


def may_write(case: Case, request: Any) -> bool:
    """Whether the role of `request.user` may write through this case, by its Django permissions and the
    admin's own object-level rule (a page the admin shows read-only must not write either)."""
    user, model_admin = request.user, case.model_admin
    opts = model_admin.model._meta

    def perm(action: str) -> bool:
        return user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")

    if case.kind == "add":
        return perm("add") and model_admin.has_add_permission(request)
    if case.kind == "change":
        return perm("change") and model_admin.has_change_permission(request, case.obj)
    if case.kind == "delete":
        return perm("delete") and model_admin.has_delete_permission(request, case.obj)
    if case.action is not None:
        needed = [p for p in getattr(case.action, "allowed_permissions", ()) if p != "view"]
        if not needed:
            return False  # an action that names no write permission must not write
        for p in needed:
            if p in ("add", "change", "delete") and not perm(p):
                return False
            if not getattr(model_admin, f"has_{p}_permission")(request):
                return False
        return True
    if case.needs is not None:
        return user.has_perm(case.needs)
    return False  # history pages, history records, the plain change list, read-only custom views
