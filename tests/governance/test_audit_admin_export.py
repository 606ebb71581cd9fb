"""Auditors export the audit trail from the admin with their browser session; other roles cannot."""

import json

import pytest
from django.urls import reverse
from govctl.audit import audit_proof

from governance import audit_exports, services
from governance.models import AuditExport

EXPORT = "admin:governance_auditevent_export"


def _keys():
    return {k["key_id"]: audit_proof.load_public_key(k["public_key"]) for k in audit_exports.published_keys()}


@pytest.fixture
def changed(service, operator):
    service.owners = "checkout team"
    services.save_audited(instance=service, actor=operator, reason="new owners", update_fields=["owners"])
    return service


def test_auditor_session__downloads_a_signed_filtered_export(client, auditor, changed):
    client.force_login(auditor)
    assert client.get(reverse(EXPORT)).status_code == 200
    assert reverse(EXPORT).encode() in client.get(reverse("admin:governance_auditevent_changelist")).content
    response = client.post(reverse(EXPORT), {"actor": "olga", "service": "shop", "model": "governance.service"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"].split(", ")
    lines = b"".join(response.streaming_content).decode().splitlines(keepends=True)
    *records, trailer = [json.loads(x) for x in lines]
    assert [r["reason"] for r in records] == ["new owners"]
    assert trailer["exporter"] == "audrey" and trailer["filters"]["actor"] == "olga"
    assert trailer["filters"]["service"] == "shop"
    assert audit_proof.verify_export(lines, keys=_keys()).ok
    assert AuditExport.objects.get(pk=trailer["export_id"]).actor_name == "audrey"


@pytest.mark.parametrize("role", ["operator", "release_manager"])
def test_role_without_audit_export_rights__is_refused_and_nothing_is_recorded(client, request, role, changed):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse(EXPORT)).status_code == 403
    assert client.post(reverse(EXPORT), {}).status_code == 403
    assert not AuditExport.objects.exists()
    assert reverse(EXPORT).encode() not in client.get(reverse("admin:governance_auditevent_changelist")).content


def test_bad_filters__show_the_form_again_with_errors_and_export_nothing(client, auditor, db):
    client.force_login(auditor)
    response = client.post(reverse(EXPORT), {"since": "2026-02-01 00:00", "until": "2026-01-01 00:00",
                                             "source": "fax"})
    assert response.status_code == 400
    form = response.context["form"]
    assert "source" in form.errors
    assert not AuditExport.objects.exists()
    response = client.post(reverse(EXPORT), {"since": "2026-02-01 00:00", "until": "2026-01-01 00:00"})
    assert response.status_code == 400 and "until" in response.context["form"].errors
