"""History pages only show old versions: reverting is off, for every role (issue 11)."""

from django.contrib import admin
from django.db import IntegrityError
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from governance import services
from governance.models import AuditEvent, Environment
from releases.models import GatePolicy
from tests.governance import test_admin_robustness as robustness_tests

world = robustness_tests.world  # every admin's rows, shared with the robustness tests


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _policy(service, production, system_user) -> GatePolicy:
    policy = services.save_audited(instance=GatePolicy(service=service, environment=production, approvals_required=2),
                                   actor=system_user, reason="fixture")
    policy.approvals_required = 1
    services.save_audited(instance=policy, actor=system_user, reason="fixture: one approval",
                          update_fields=["approvals_required"])
    return policy


def test_history_record_posted_by_an_administrator__refused_and_nothing_written(service, production, system_user,
                                                                                 administrator):
    policy = _policy(service, production, system_user)
    oldest = policy.history.earliest()
    url = reverse("admin:releases_gatepolicy_simple_history", args=[policy.pk, oldest.history_id])
    events, versions = AuditEvent.objects.count(), policy.history.count()

    response = _client(administrator).post(url, {"approvals_required": "0", "reason": "revert"}, follow=True)

    assert response.status_code == 403
    assert b"changed successfully" not in response.content
    policy.refresh_from_db()
    assert policy.approvals_required == 1
    assert (AuditEvent.objects.count(), policy.history.count()) == (events, versions)


def test_history_record_page__shows_the_old_version_without_a_revert_button(service, production, system_user,
                                                                             administrator):
    policy = _policy(service, production, system_user)
    oldest = policy.history.earliest()
    url = reverse("admin:releases_gatepolicy_simple_history", args=[policy.pk, oldest.history_id])

    response = _client(administrator).get(url)

    assert response.status_code == 200
    assert b'value="Revert"' not in response.content
    form = response.context["adminform"].form
    assert form["approvals_required"].value() == 2  # the old version is shown …
    assert all(field.disabled for field in form.fields.values())  # … and nothing on the page can be submitted


def test_history_record_with_a_version_that_is_no_id__404(service, production, system_user, administrator):
    policy = _policy(service, production, system_user)
    url = reverse("admin:releases_gatepolicy_simple_history", args=[policy.pk, "abc"])

    assert _client(administrator).get(url).status_code == 404


def _write_then(outcome, ran):
    def view(request):
        ran.append(request.path)
        env = Environment.objects.get(slug="production")
        env.name = "written by a view"
        services.save_audited(instance=env, actor=request.user, reason="test", update_fields=["name"])
        if outcome == "raise":
            raise IntegrityError("the view failed after writing")
        return HttpResponse(status=outcome)
    return view


def _post(view, user):
    request = RequestFactory().post("/admin/anything/")
    request.user = user
    request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]  # as Django's test client does
    try:
        return admin.site.admin_view(view)(request)
    except IntegrityError:
        return None


def test_admin_post_refused_after_writing__leaves_nothing_behind(administrator):
    events = AuditEvent.objects.count()

    ran: list[str] = []
    response = _post(_write_then(403, ran), administrator)

    assert ran and response is not None and response.status_code == 403
    assert Environment.objects.get(slug="production").name != "written by a view"
    assert AuditEvent.objects.count() == events


def test_admin_post_failing_after_writing__leaves_nothing_behind(administrator):
    events = AuditEvent.objects.count()

    ran: list[str] = []
    assert _post(_write_then("raise", ran), administrator) is None
    assert ran

    assert Environment.objects.get(slug="production").name != "written by a view"
    assert AuditEvent.objects.count() == events


def test_admin_post_answered_with_success__keeps_its_write(administrator):
    response = _post(_write_then(302, []), administrator)

    assert response is not None and response.status_code == 302
    assert Environment.objects.get(slug="production").name == "written by a view"


def test_every_history_record_page__shows_the_old_version_read_only_to_a_viewer(world, auditor):
    from governance import admin_tools
    from tests.governance.admin_sweep import registry, url_name

    client = _client(auditor)
    shown = []
    for model, model_admin in registry():
        if not isinstance(model_admin, admin_tools.HistoryAdmin):
            continue
        record = model.history.order_by("history_id").first()  # type: ignore[attr-defined]  # simple-history
        if record is None:
            continue
        url = reverse(url_name(model, "simple_history"), args=[record.instance.pk, record.history_id])
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'value="Revert"' not in response.content, url
        form = response.context["adminform"].form
        assert all(field.disabled for field in form.fields.values()), url
        shown.append(model._meta.label)
    assert len(shown) >= 10, shown  # the fixture world reaches most of them
