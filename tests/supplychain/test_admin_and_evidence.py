"""Supply-chain admin pages for every role, waiver actions with confirmation and reason, the evidence section,
and failing checks (a scanner's result) blocking through the API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from governance import roles
from releases import gates
from releases import services as release_services
from supplychain import evidence, services
from supplychain.models import Waiver
from tests.supplychain.conftest import osv, write_records


@pytest.fixture
def populated(tmp_path, register_with_sbom, production, system_user, release_manager):
    services.import_advisories(source=str(write_records(tmp_path / "osv", osv("GHSA-a", "demo", fixed="1.5"))))
    release = register_with_sbom("1.0.0", "pkg:pypi/demo@1.2")
    release_services.record_deployment(release=release, environment=production, status="succeeded",
                                       actor=system_user, reason="ci")
    services.request_waiver(service=release.service, advisory_id="GHSA-a", package="pkg:pypi/demo",
                            expires_at=timezone.now() + timedelta(days=5), actor=release_manager, reason="mitigated")
    return release


@pytest.mark.parametrize("role", roles.ROLES)
def test_each_role__loads_every_supplychain_page_it_may_view(client, make_user, populated, role):
    user = make_user(f"user-{role.split()[0].lower()}", role)
    client.force_login(user)
    for model in [m for m in admin.site._registry if m._meta.app_label == "supplychain"]:
        name = model._meta.model_name
        response = client.get(reverse(f"admin:supplychain_{name}_changelist"))
        if not user.has_perm(f"supplychain.view_{name}"):
            assert response.status_code == 403
            continue
        assert response.status_code == 200, name
        obj = model._default_manager.first()
        if obj is not None:
            assert client.get(reverse(f"admin:supplychain_{name}_change", args=[obj.pk])).status_code == 200, name


def test_component_search__finds_the_release_and_where_it_is_live(client, administrator, populated):
    client.force_login(administrator)
    page = client.get(reverse("admin:supplychain_component_changelist"), {"q": "pkg:pypi/Demo@1.2"}).content.decode()
    assert "pkg:pypi/demo@1.2" in page and "production" in page


def test_waiver_approval_in_admin__confirms_with_a_reason_and_refuses_the_requester(client, populated,
                                                                                    release_manager, second_manager):
    waiver = Waiver.objects.get()
    url = reverse("admin:supplychain_waiver_changelist")
    client.force_login(release_manager)
    confirm = client.post(url, {"action": "approve", "_selected_action": [waiver.pk]})
    assert b"reason" in confirm.content and b"no longer blocks" in confirm.content
    client.post(url, {"action": "approve", "_selected_action": [waiver.pk], "confirm": "1", "reason": "self"})
    assert Waiver.objects.get().status == "requested"
    client.force_login(second_manager)
    client.post(url, {"action": "approve", "_selected_action": [waiver.pk], "confirm": "1", "reason": "reviewed"})
    waiver.refresh_from_db()
    assert (waiver.status, waiver.approved_by) == ("approved", second_manager)


def test_evidence_section__lists_waivers_findings_and_sboms(populated):
    files = evidence.section(start=timezone.now() - timedelta(days=1), end=timezone.now() + timedelta(minutes=1),
                             service=None)
    assert set(files) == {"waivers.json", "findings.json", "sboms.json", "imports.json", "report.md"}
    waivers = json.loads(files["waivers.json"])
    assert waivers[0]["advisory"] == "GHSA-a" and waivers[0]["reason"] == "mitigated"
    assert json.loads(files["findings.json"])[0]["component"] == "pkg:pypi/demo@1.2"
    assert "GHSA-a" in files["report.md"].decode()


def test_section_is_registered_for_the_evidence_pack():
    from governance import hooks

    assert hooks.EVIDENCE_SECTIONS["vulnerabilities-and-waivers"] is evidence.section


@pytest.mark.parametrize("required", [["security-scan"], []])
def test_scanner_reporting_failure_through_the_api__blocks_production(api, make_token, register, production,
                                                                      gate_policy, required):
    gate_policy(required_checks=required, approvals_required=0)
    release = register("1.0.0")
    response = api(make_token("checks:write")).post(f"/api/v1/releases/{release.pk}/checks",
                                                   {"name": "security-scan", "status": "failure"}, format="json")
    assert response.status_code == 201
    checks = next(i for i in gates.evaluate(release, production).inputs if i.name == "required-checks")
    assert (checks.verdict, checks.code) == ("block", "check-failed")
