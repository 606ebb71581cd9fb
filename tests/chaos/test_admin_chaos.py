"""The chaos admin: halt-all button on every chaos page and the ops console, the halt confirmation, the run page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chaos import engine, services
from chaos.models import Fault
from governance import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def oncall(make_user, client):
    user = make_user("oncall", roles.OPERATOR)
    client.force_login(user)
    return user


def test_every_chaos_page__shows_the_halt_button(client, oncall, make_experiment, preview, maintainer):
    experiment = make_experiment(hypothesis_tolerance={"type": "range", "range": [0, 1]})
    run = services.request_run(experiment=experiment, environment=preview, actor=maintainer, reason="t")
    engine.execute(run.pk, worker="t")
    fault = run.faults.first()
    assert fault is not None
    pages = [reverse("admin:chaos_experiment_changelist"), reverse("admin:chaos_run_changelist"),
             reverse("admin:chaos_fault_changelist"), reverse("admin:chaos_run_change", args=[run.pk]),
             reverse("admin:chaos_fault_change", args=[fault.pk]),
             reverse("admin:chaos_experiment_change", args=[experiment.pk]),
             reverse("admin:flags_ops_index"), reverse("admin:flags_ops_console", args=["shop"])]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert reverse("admin:chaos_halt") in response.content.decode(), page
    body = client.get(reverse("admin:chaos_run_change", args=[run.pk])).content.decode().lower()
    assert "phase timeline" in body and "hypothesis after" in body and "faults in force" in body


def test_halt_page__lists_faults_with_countdown_then_removes_them_with_the_reason(client, oncall, service, preview,
                                                                                   maintainer):
    fault = services.create_fault(service=service, environment=preview, kind="http_errors", ttl_seconds=600,
                                  actor=maintainer, reason="drill")
    page = client.get(reverse("admin:chaos_halt")).content.decode()
    assert f"#{fault.pk} http_errors" in page and ("in 9 min" in page or "in 10 min" in page)
    response = client.post(reverse("admin:chaos_halt"), {"reason": "drill misbehaving"})
    assert response.status_code == 302
    fault.refresh_from_db()
    assert fault.removed_at is not None and fault.removed_by == oncall and "drill misbehaving" in fault.removal_reason


def test_halt_page__needs_the_halt_permission(client, make_user, service, preview, maintainer):
    client.force_login(make_user("ra", roles.RELEASE_MANAGER))
    services.create_fault(service=service, environment=preview, kind="http_errors", ttl_seconds=60,
                          actor=maintainer, reason="drill")
    assert client.post(reverse("admin:chaos_halt"), {"reason": "x"}).status_code == 403
    assert Fault.objects.active().count() == 1


def test_halt_command__removes_everything(service, preview, maintainer):
    from django.core.management import call_command

    services.create_fault(service=service, environment=preview, kind="db_latency", ttl_seconds=60,
                          actor=maintainer, reason="drill")
    call_command("chaos_halt", reason="stop")
    assert not Fault.objects.active().exists()
    assert "manage.py chaos_halt" in Fault.objects.get().removal_reason
