"""The API export: the filters (in the signed trailer), a token's service restriction, and no caching."""

import json
from typing import Any

import pytest
from govctl.audit import audit_proof

from governance import audit_exports, audit_signing, services


def _export(client, **params) -> tuple[Any, list[dict]]:
    response = client.get("/api/v1/audit/export", params)
    lines = [json.loads(x) for x in b"".join(response.streaming_content).decode().splitlines()] \
        if response.status_code == 200 else []
    return response, lines


def _keys():
    return {k["key_id"]: audit_proof.load_public_key(k["public_key"]) for k in audit_exports.published_keys()}


@pytest.fixture
def two_services(service, other_service, operator, system_user):
    for svc in (service, other_service):
        svc.owners = f"{svc.slug}-team"
        services.save_audited(instance=svc, actor=operator, reason=f"owners of {svc.slug}", update_fields=["owners"])
    return service, other_service


def test_token_restricted_to_a_service__exports_only_that_services_events(api, make_token, two_services):
    shop, billing = two_services
    secret = make_token("audit:read", services_=[shop], name="shop auditor")
    response, lines = _export(api(secret))
    *records, trailer = lines
    assert response.status_code == 200 and records
    assert {r["service_id"] for r in records} == {shop.pk}  # no billing, no service-less rows such as tokens
    assert not any(r["model"] == "governance.apitoken" for r in records)
    assert trailer["filters"]["restricted_to_services"] == ["shop"]
    assert audit_proof.verify_export([json.dumps(x) + "\n" for x in lines], keys=_keys()).ok
    refused, _ = _export(api(secret), service="billing")
    assert refused.status_code == 403


def test_unrestricted_token__sees_every_service_and_token_events(api, make_token, two_services):
    _, lines = _export(api(make_token("audit:read")))
    models = {r["model"] for r in lines[:-1]}
    assert "governance.apitoken" in models
    assert {r["service_id"] for r in lines[:-1]} >= {two_services[0].pk, two_services[1].pk}


def test_every_export_response__is_no_store(api, make_token, db):
    response, _ = _export(api(make_token("audit:read")))
    assert response["Cache-Control"] == "no-store"


def test_filters__select_events_and_are_signed_into_the_trailer(api, make_token, two_services, operator):
    shop, _ = two_services
    response, lines = _export(api(make_token("audit:read")), actor="olga", service="shop",
                              model="governance.service", source="other")
    *records, trailer = lines
    assert response.status_code == 200
    assert [r["reason"] for r in records] == ["owners of shop"]
    assert trailer["filters"] | {"since": None} == {"since": None, "until": None, "actor": "olga", "model": "governance.service",
                                 "service": "shop", "environment": None, "source": "other",
                                 "restricted_to_services": []}
    assert audit_proof.verify_export([json.dumps(x) + "\n" for x in lines], keys=_keys()).ok


def test_environment_and_source_filters__select_a_flag_change_made_through_the_api(api, make_token, service,
                                                                                  system_user):
    from flags import services as flag_services

    flag_services.create_flag(service=service, key="checkout-v2", owner="checkout team", actor=system_user,
                              reason="new checkout")
    secret = make_token("flags:write", "flags:read", services_=[service], name="shop ci")
    changed = api(secret).post("/api/v1/flags/shop/development/checkout-v2/changes",
                               {"operation": "enable", "reason": "try it in development"}, format="json")
    assert changed.status_code == 200, changed.content
    _, lines = _export(api(make_token("audit:read")), environment="development", source="api")
    *records, trailer = lines
    assert [(r["model"], r["reason"]) for r in records] == [
        ("flags.flagstate", "api (shop ci): try it in development")]
    assert records[0]["changes"] and records[0]["environment_id"] is not None
    assert trailer["filters"]["environment"] == "development" and trailer["filters"]["source"] == "api"


@pytest.mark.parametrize("params, field", [
    ({"service": "nope"}, "service"),
    ({"environment": "nope"}, "environment"),
    ({"source": "fax"}, "source"),
    ({"model": "noapp"}, "model"),
])
def test_unknown_filter_values__are_400_with_the_field(api, make_token, db, params, field):
    response = api(make_token("audit:read")).get("/api/v1/audit/export", params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_public_key_endpoint__publishes_the_current_key_without_secrets(api, make_token, db):
    response = api(make_token("flags:read")).get("/api/v1/audit/public-key")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["status"] == "current"
    assert key["key_id"] == audit_proof.key_id(audit_signing.public_key())
    assert "private" not in json.dumps(response.json()).lower()
