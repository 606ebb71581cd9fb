"""A sync that brings an advisory affecting a live release alerts; "which releases, live where, contain X"."""

from __future__ import annotations

import logging

from releases import services as release_services
from supplychain import services
from supplychain.models import Finding
from tests.supplychain.conftest import osv, write_records


def test_new_advisory_for_a_live_release__alerts_with_service_environment_component_and_fix(
        tmp_path, register_with_sbom, production, system_user, caplog):
    live = register_with_sbom("1.0.0", "pkg:pypi/demo@1.2")
    release_services.record_deployment(release=live, environment=production, status="succeeded",
                                       actor=system_user, reason="ci")
    not_live = register_with_sbom("1.1.0", "pkg:pypi/demo@1.3")
    with caplog.at_level(logging.WARNING, logger="governance.notifications.routing"):
        run = services.import_advisories(source=str(write_records(tmp_path / "a", osv("GHSA-new", "demo",
                                                                                      fixed="1.5"))))
    assert run.alerts == 1
    alert = next(r.getMessage() for r in caplog.records if "GHSA-new" in r.getMessage())
    assert "shop 1.0.0" in alert and "production" in alert and "pkg:pypi/demo@1.2" in alert and "1.5" in alert
    assert Finding.objects.get(release=live).alerted_at is not None
    assert Finding.objects.get(release=not_live).alerted_at is None
    caplog.clear()
    again = services.import_advisories(source=str(write_records(tmp_path / "b", osv("GHSA-new", "demo",
                                                                                    fixed="1.5"))))
    assert again.alerts == 0  # nothing new: no second alert


def test_package_search__lists_releases_with_where_they_are_live(register_with_sbom, other_service, production,
                                                                 preview, system_user, api, make_token):
    shop = register_with_sbom("1.0.0", "pkg:pypi/Django@5.2.1", "pkg:pypi/requests@2.31.0")
    billing = register_with_sbom("2.0.0", "pkg:pypi/django@5.2.1", svc=other_service)
    register_with_sbom("2.1.0", "pkg:pypi/django@5.2.2", svc=other_service)
    release_services.record_deployment(release=shop, environment=production, status="succeeded", actor=system_user,
                                       reason="ci")
    release_services.record_deployment(release=billing, environment=preview, status="succeeded", actor=system_user,
                                       reason="ci")
    client = api(make_token("releases:write"))
    rows = client.get("/api/v1/packages/releases", {"package": "DJANGO", "version": "5.2.1"}).json()
    assert [(r["service"], r["release"], r["live_in"]) for r in rows] == [
        ("billing", "2.0.0", ["preview"]), ("shop", "1.0.0", ["production"])]
    by_purl = client.get("/api/v1/packages/releases", {"package": "pkg:pypi/django@5.2.2"}).json()
    assert [(r["service"], r["release"], r["live_in"]) for r in by_purl] == [("billing", "2.1.0", [])]
    restricted = api(make_token("releases:write", services_=[other_service], name="billing-only"))
    assert {r["service"] for r in restricted.get("/api/v1/packages/releases", {"package": "django"}).json()} == {
        "billing"}
    assert client.get("/api/v1/packages/releases").status_code == 400
