"""A token restricted to environments cannot make service-wide writes: every write operation of the API ×
a token with every scope restricted to one environment. Writes not tied to one environment answer 403 problem
JSON naming the restriction and change no table; writes within one environment still work."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from governance.models import Scope
from tests.governance.robustness import RowCounter
from tests.governance.test_api_robustness import operations

# Pinned: the API's service-wide writes. A new write endpoint is refused to these tokens unless its view
# declares `write_reach` ("environment" or "none"); add it here or declare its reach.
SERVICE_WIDE = {
    "POST /api/v1/services",
    "POST /api/v1/releases",
    "POST /api/v1/releases/{id}/checks",
    "POST /api/v1/schema-plans/{slug}/transition",
    "POST /api/v1/backfills/{id}/pause",
    "POST /api/v1/backfills/{id}/resume",
    "POST /api/v1/backfills/{id}/cancel",
    "POST /api/v1/drills",
    "POST /api/v1/releases/{id}/sbom",
    "POST /api/v1/waivers",
    "POST /api/v1/waivers/{id}/approve",
    "POST /api/v1/secrets",
    "POST /api/v1/secrets/{id}/rotations",
    "POST /api/v1/chaos/experiments/",
    "POST /api/v1/chaos/halt",  # every fault of every service and environment
}
WRITES = sorted(f"{m} {p}" for m, p in operations() if m in {"POST", "PUT", "PATCH", "DELETE"})


@pytest.fixture
def world(service, system_user, tmp_path):
    from flags import services as flag_services
    from recovery import services as recovery_services
    from releases import services as release_services
    from schemaplans import services as plan_services

    release = release_services.register_release(service=service, version="1.0.0", build_sha="c0ffee" + "0" * 34,
                                                actor=system_user, reason="fixture").release
    plan = plan_services.create_plan(service=service, slug="orders-status-code", table="orders",
                                     columns=["status_code"], verification_sql="SELECT 0", actor=system_user,
                                     reason="fixture")
    backfill = plan_services.create_backfill(name="orders: copy status", table="orders", plan=plan,
                                             sql="UPDATE orders SET status_code = 1 WHERE id >= %(lo)s AND id < %(hi)s",
                                             actor=system_user, reason="fixture")
    target = recovery_services.create_backup_target(name="shop-db", dsn_env="GOV_UNSET_DSN",
                                                    directory=str(tmp_path / "backups"), service=service,
                                                    actor=system_user, reason="fixture")
    drill = recovery_services.request_drill(target=target, kind="restore", actor=system_user, reason="fixture")
    flag = flag_services.create_flag(service=service, key="new-checkout", actor=system_user, reason="fixture")
    return {"service": service.slug, "environment": "preview", "key": flag.key, "slug": plan.slug,
            "name": "api-success",  # a seeded SLO (PATCH /api/v1/slos/{service}/{environment}/{name})
            "releases": release.pk, "backfills": backfill.pk, "drills": drill.pk,
            # refused before any row is read (the restriction is the view's, not the row's): no row needed
            "faults": 999_999, "secrets": 999_999, "waivers": 999_999}


def _url(path: str, world: dict) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name == "id":
            collection = path[:match.start()].rstrip("/").rsplit("/", 1)[-1]
            return str(world[collection])
        return str(world[name])

    return re.sub(r"\{(\w+)\}", fill, path)


@pytest.mark.parametrize("operation", WRITES)
def test_write_with_an_environment_restricted_token__refused_unless_tied_to_one_environment(
        operation, world, make_token, preview):
    method, path = operation.split(" ", 1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(*Scope.values, environments=[preview])}")
    counter = RowCounter()
    before = counter.counts()

    response = client.generic(method, _url(path, world), "{}", content_type="application/json")

    refused = response.status_code == 403 and response.json().get("type", "").endswith("environment-restricted-token")
    assert refused == (operation in SERVICE_WIDE), (response.status_code, response.content[:300])
    if refused:
        assert response["Content-Type"].startswith("application/problem+json")
        assert "restricted to environments (preview)" in response.json()["detail"]
        assert counter.diff(before, counter.counts()) == {}


def test_service_wide_writes__are_all_api_writes_that_exist():
    assert SERVICE_WIDE <= set(WRITES)


def test_flag_change_in_the_tokens_own_environment__still_works(api, make_token, operator, preview, world):
    secret = make_token("flags:write", owner=operator, environments=[preview], name="preview pager")

    response = api(secret).post("/api/v1/flags/shop/preview/new-checkout/changes",
                                {"operation": "enable", "reason": "try in preview"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["state"]["enabled"] is True
