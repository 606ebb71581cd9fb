"""SBOMs as release evidence: registered with the release (in its digest) or attached later (approvals stand)."""

from __future__ import annotations

import copy

from releases import services as release_services
from releases.models import Approval
from supplychain.models import Component, Sbom
from tests.supplychain.conftest import cyclonedx

DJANGO = "pkg:pypi/Django@5.2.1"
REQUESTS = "pkg:pypi/requests@2.31.0"


def _register_body(**extra):
    return {"service": "shop", "version": "1.0.0", "build_sha": "c0ffee" + "0" * 34, "reason": "ci", **extra}


def test_registration_with_sbom__stores_components_and_the_sbom_is_in_the_digest(api, make_token, service):
    client = api(make_token("releases:write"))
    with_sbom = client.post("/api/v1/releases", _register_body(artifacts={"sbom": cyclonedx(DJANGO, REQUESTS)}),
                            format="json")
    assert with_sbom.status_code == 201, with_sbom.content
    sbom = Sbom.objects.get(release_id=with_sbom.json()["id"])
    assert (sbom.source, sbom.spec_version, sbom.component_count) == ("registration", "1.6", 2)
    component = Component.objects.get(sbom=sbom, package="django")
    assert (component.ecosystem, component.version, component.purl) == ("PyPI", "5.2.1", DJANGO)
    assert component.hashes == [{"alg": "SHA-256", "content": "ab" * 32}]
    other = client.post("/api/v1/releases", _register_body(version="1.0.1", tag="v1.0.1",
                                                           artifacts={"sbom": cyclonedx(DJANGO)}), format="json")
    plain = client.post("/api/v1/releases", _register_body(version="1.0.2", tag="v1.0.2"), format="json")
    digests = {with_sbom.json()["evidence_digest"], other.json()["evidence_digest"], plain.json()["evidence_digest"]}
    assert len(digests) == 3


def test_cyclonedx_15__is_accepted(api, make_token, service):
    response = api(make_token("releases:write")).post(
        "/api/v1/releases", _register_body(artifacts={"sbom": cyclonedx(DJANGO, spec="1.5")}), format="json")
    assert response.status_code == 201
    assert Sbom.objects.get().spec_version == "1.5"


def test_invalid_sbom__is_a_400_naming_the_problem_and_registers_nothing(api, make_token, service):
    bad = cyclonedx(DJANGO)
    bad["components"][0]["type"] = "gadget"
    response = api(make_token("releases:write")).post("/api/v1/releases", _register_body(artifacts={"sbom": bad}),
                                                      format="json")
    assert response.status_code == 400
    problem = response.json()
    text = str(problem)
    assert "sbom" in text and "components/0/type" in text and "gadget" in text
    assert not Sbom.objects.exists()


def test_unsupported_spec_version__is_a_400(api, make_token, service):
    old = cyclonedx(DJANGO)
    old["specVersion"] = "1.2"
    response = api(make_token("releases:write")).post("/api/v1/releases", _register_body(artifacts={"sbom": old}),
                                                      format="json")
    assert response.status_code == 400
    assert "1.5 or 1.6" in str(response.json())


def test_attached_later__keeps_approvals_and_shows_when_it_arrived(api, make_token, register, production,
                                                                   gate_policy, second_manager):
    gate_policy(approvals_required=1)
    release = register("1.0.0")
    release_services.approve_release(release=release, environment=production, actor=second_manager,
                                     reason="looks good")
    digest = release.evidence_digest
    client = api(make_token("releases:write"))
    response = client.post(f"/api/v1/releases/{release.pk}/sbom", {"sbom": cyclonedx(DJANGO), "reason": "late SBOM"},
                           format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "attached" and body["received_at"] and body["components"] == 1
    release.refresh_from_db()
    assert release.evidence_digest == digest
    assert Approval.objects.get(release=release).voided_at is None
    sbom = Sbom.objects.get(pk=body["id"])
    record = sbom.history.latest()
    assert record.history_change_reason.endswith("late SBOM") and record.history_user is not None
    again = client.post(f"/api/v1/releases/{release.pk}/sbom", {"sbom": cyclonedx(DJANGO)}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, body["id"])


def test_attaching_an_invalid_sbom__is_a_400(api, make_token, register):
    release = register("1.0.0")
    bad = copy.deepcopy(cyclonedx(DJANGO))
    del bad["components"][0]["name"]
    response = api(make_token("releases:write")).post(f"/api/v1/releases/{release.pk}/sbom", {"sbom": bad},
                                                      format="json")
    assert response.status_code == 400
    assert "'name' is a required property" in str(response.json())
    assert not Sbom.objects.exists()


def test_evidence_amended_without_its_sbom__drops_the_sbom_and_its_findings(tmp_path, register_with_sbom, register):
    from supplychain import queries, services
    from supplychain.models import Finding
    from tests.supplychain.conftest import osv, write_records

    services.import_advisories(source=str(write_records(tmp_path / "osv", osv("GHSA-x", "django", fixed="5.2.2"))))
    release = register_with_sbom("1.0.0", DJANGO)
    assert Finding.objects.filter(release=release).count() == 1
    amended = register("1.0.0", build_sha="d" * 40, replace=True)
    assert queries.current_sbom(amended) is None
    assert not Finding.objects.filter(release=release).exists()
