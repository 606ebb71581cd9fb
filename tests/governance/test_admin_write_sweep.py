"""Every admin URL × every role, with a plausible POST: the database changes only where the role may write, and
every governed row that changes gets a new history row and a new audit event (issue 11).

The URLs come from the admin site's registry (change list, add, change, history, a history record, delete,
every custom URL of get_urls, every action with its confirmation and a reason), so a new admin is swept without
editing this file. Each POST runs in a savepoint rolled back afterwards, against one fixture world; a row-level
snapshot of every table (sessions, lockouts and Django's admin log aside) before and after tells what it wrote.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import DatabaseError, transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from governance import roles
from tests.governance import test_admin_robustness as robustness_tests
from tests.governance.admin_sweep import (
    CUSTOM_WRITES,
    REASON,
    Case,
    FormInputs,
    Snapshot,
    custom_patterns,
    custom_url,
    form_inputs,
    may_write,
    new_row,
    one_field_changed,
    registry,
    row_values,
    url_name,
)

world = robustness_tests.world  # the fixture rows every admin needs to reach its forms (shared, not copied)
superuser = robustness_tests.superuser

NO_ROLE = "staff without a role"


def _probe(send: Any) -> Any:
    """A look at a page as the superuser, to learn what a browser would post; rolled back like every case."""
    savepoint = transaction.savepoint()
    try:
        return send()
    finally:
        transaction.savepoint_rollback(savepoint)


def _confirm_fields(client: Client, url: str, data: dict[str, Any]) -> dict[str, Any]:
    """The extra fields of an action's confirmation form, filled as a person would (first choice if empty)."""
    page = _probe(lambda: client.post(url, data))
    form = page.context.get("form") if page.status_code == 200 and page.context else None
    if form is None or not hasattr(form, "fields"):
        return {}
    values: dict[str, Any] = {}
    for name, form_field in form.fields.items():
        value = form[name].value()
        if value in (None, "", []) and getattr(form_field, "choices", None):
            value = next((str(v) for v, _ in form_field.choices if str(v)), "")
        values[name] = value if value is not None else ""
    return values


def build_cases(superuser: Any, client: Client, world: dict[str, Any]) -> list[Case]:
    request = RequestFactory().get("/")
    request.user = superuser
    cases: list[Case] = []
    for model, model_admin in registry():
        changelist = reverse(url_name(model, "changelist"))
        obj = model_admin.get_queryset(request).order_by("pk").first()
        cases.append(Case(model_admin, "changelist", changelist, {"index": "0"}))
        add_url = reverse(url_name(model, "add"))
        add_page = _probe(lambda url=add_url: client.get(url))
        shown = form_inputs(add_page.content) if add_page.status_code == 200 else FormInputs()
        add_data = new_row(obj, shown) if obj is not None else shown.data
        cases.append(Case(model_admin, "add", add_url, {**add_data, "reason": REASON, "_save": "Save"}))
        if obj is None:
            continue
        change_url = reverse(url_name(model, "change"), args=[obj.pk])
        page = _probe(lambda url=change_url: client.get(url))
        shown = form_inputs(page.content) if page.status_code == 200 else FormInputs()
        data, field_name = one_field_changed(obj, {**row_values(obj), **shown.data})
        data = {**data, "reason": [REASON], "_save": ["Save"]}
        data.pop("csrfmiddlewaretoken", None)
        cases.append(Case(model_admin, "change", change_url, data, obj, extra={"field": field_name}))
        cases.append(Case(model_admin, "history", reverse(url_name(model, "history"), args=[obj.pk]), data, obj))
        history = getattr(model, "history", None)
        if history is not None and hasattr(history, "model"):
            oldest = history.filter(**{model._meta.pk.attname: obj.pk}).order_by("history_id").first()
            if oldest is not None:
                record_url = reverse(url_name(model, "simple_history"), args=[obj.pk, oldest.history_id])
                cases.append(Case(model_admin, "history record", record_url, data, obj))
        cases.append(Case(model_admin, "delete", reverse(url_name(model, "delete"), args=[obj.pk]),
                          {"post": "yes"}, obj))
        actions: dict[str, Any] = model_admin.get_actions(request)
        for name, (function, _, _) in sorted(actions.items()):
            selected = {"action": name, "_selected_action": [str(obj.pk)], "index": "0"}
            extra = _confirm_fields(client, changelist, selected)
            cases.append(Case(model_admin, f"action {name}", changelist,
                              {**selected, **extra, "confirm": "yes", "post": "yes", "reason": REASON}, obj,
                              action=function))
    for _, model_admin in registry():
        for pattern in custom_patterns(model_admin):
            url = custom_url(pattern, world)
            extra = _confirm_fields(client, url, {}) if str(pattern.name) in CUSTOM_WRITES else {}
            page = _probe(lambda url=url: client.get(url))
            form = page.context.get("form") if page.status_code == 200 and page.context else None
            values = {n: form[n].value() for n in form.fields} if form is not None and hasattr(form, "fields") else {}
            values = {k: ("" if v is None else v) for k, v in values.items()}
            cases.append(Case(model_admin, f"view {pattern.name}", url, {**values, **extra, "reason": REASON},
                              needs=CUSTOM_WRITES.get(str(pattern.name))))
    return cases


def _users(make_user) -> list[tuple[str, Any]]:
    users = [(role, make_user(f"sweep-{role.lower().replace(' ', '-')}", role)) for role in roles.ROLES]
    return [*users, (NO_ROLE, make_user("sweep-no-role"))]


def test_every_admin_post_by_every_role__writes_only_what_the_role_may_and_records_it(
        world, make_user, capsys):
    superuser = make_user("sweep-root", superuser=True)
    su_client = Client(raise_request_exception=False)
    su_client.force_login(superuser)
    cases = build_cases(superuser, su_client, world)
    snapshot = Snapshot()
    figures: Counter[str] = Counter()
    wrote_by_role: Counter[str] = Counter()
    failures: list[str] = []
    for role, user in _users(make_user):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        request = RequestFactory().post("/")
        request.user = user
        baseline = snapshot.take()
        for case in cases:
            allowed = may_write(case, request)
            where = f"{role} | {case.label} | POST {case.url}"
            figures["tried"] += 1
            savepoint = transaction.savepoint()
            try:
                response = client.post(case.url, case.data)
                if getattr(response, "streaming", False):
                    b"".join(response.streaming_content)  # type: ignore[attr-defined]  # a streamed answer
                after = snapshot.take()
            except DatabaseError as exc:
                transaction.savepoint_rollback(savepoint)
                failures.append(f"{where}: left the transaction broken ({exc})")
                continue
            changed = Snapshot.changed(baseline, after)
            missing = snapshot.unrecorded(changed, baseline) if changed else []
            transaction.savepoint_rollback(savepoint)
            if response.status_code >= 500:
                failures.append(f"{where}: answered {response.status_code}")
            if changed and not allowed:
                figures["holes"] += 1
                tables = sorted({table for table, _ in changed})
                failures.append(f"{where}: wrote without the right ({response.status_code}): {tables}")
            elif changed:
                figures["allowed"] += 1
                wrote_by_role[role] += 1
            elif not allowed:
                figures["refused"] += 1
            else:
                figures["allowed, nothing written (form refused the values)"] += 1
            if changed and missing:
                figures["writes without a history row or audit event"] += 1
                failures.append(f"{where}: {'; '.join(missing)}")
    with capsys.disabled():
        print(f"\nadmin write sweep: {len(cases)} URLs × {len(roles.ROLES) + 1} roles = {figures['tried']} POSTs; "
              f"writes allowed {figures['allowed']}, writes refused {figures['refused']}, writes past the grants "
              f"{figures['holes']}, writes without a history row or audit event "
              f"{figures['writes without a history row or audit event']}, allowed but refused by the form "
              f"{figures['allowed, nothing written (form refused the values)']}; writes per role {dict(wrote_by_role)}")
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)
    # The sweep must reach real writes, or it proves nothing: every role that holds a write grant used one.
    writers = {role for role in roles.ROLES if role != roles.AUDITOR}
    assert writers <= set(wrote_by_role), f"roles that never wrote: {writers - set(wrote_by_role)}"


def test_every_action_of_the_portal__names_the_write_permission_it_needs(superuser):
    """An action without `permissions=[...]` runs for anyone who sees the list; the sweep only notices when it
    writes on the fixture's rows, so each of the portal's own actions must name what it needs: a write permission,
    or `permissions=["view"]` for an action that only reads (e.g. the incident review draft: the sweep above
    checks that it writes nothing for a role that may only view)."""
    request = RequestFactory().get("/")
    request.user = superuser
    unnamed = []
    for model, model_admin in registry():
        actions: dict[str, Any] = model_admin.get_actions(request)
        for name, (function, _, _) in actions.items():
            ours = function.__module__.split(".")[0] in robustness_tests.PROJECT_APPS
            needed = set(getattr(function, "allowed_permissions", ()))
            if ours and not needed:
                unnamed.append(f"{model._meta.label}: {name}")
    assert not unnamed, f"actions without a write permission: {unnamed}"
