"""SLO definitions over the API: read (list, one), change exclude_maintenance (slos:write, audited), refuse bad
values and fields it does not change by name; the status answer says what maintenance was left out."""

from datetime import timedelta

import pytest

from governance.models import AuditEvent
from observability.models import Slo
from tests.observability.conftest import declare_maintenance, slo_named

URL = "/api/v1/slos/shop/production/api-success"


@pytest.fixture
def writer(api, make_token, ci_user):
    return api(make_token("slos:write", name="slo bot"))


def test_list__every_definition_of_the_service_with_exclude_maintenance_off_by_default(api, make_token, service):
    response = api(make_token()).get("/api/v1/slos", {"service": "shop", "environment": "production"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["service"] == "shop"
    by_name = {s["name"]: s for s in body["slos"]}
    assert set(by_name) == {"api-success", "api-latency", "database-errors", "availability"}
    assert all(s["exclude_maintenance"] is False for s in body["slos"])
    assert by_name["api-latency"]["threshold_ms"] == 300 and by_name["api-success"]["objective"] == "0.99900000"


def test_list_without_environment__only_the_environments_the_token_may_see(api, make_token, service, preview):
    response = api(make_token(environments=[preview])).get("/api/v1/slos", {"service": "shop"})

    assert response.status_code == 200
    assert {s["environment"] for s in response.json()["slos"]} == {"preview"}


def test_get_one__reads_the_definition(api, make_token, service, production, system_user):
    from observability import services

    services.update_slo(slo=slo_named(service, production, "api-success"), exclude_maintenance=True,
                        actor=system_user, reason="planned upgrades")

    response = api(make_token()).get(URL)

    assert response.status_code == 200
    assert response.json()["exclude_maintenance"] is True and response.json()["sli_type"] == "request_success"


def test_patch__turns_it_on_audited_with_the_token_owner_and_reason(writer, service, production, ci_user):
    response = writer.patch(URL, {"exclude_maintenance": True, "reason": "planned upgrades spend no budget"},
                            format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["exclude_maintenance"] is True
    slo = slo_named(service, production, "api-success")
    assert slo.exclude_maintenance is True
    record = slo.history.latest()
    assert record.history_user == ci_user
    assert record.history_change_reason == "api (slo bot): planned upgrades spend no budget"
    assert AuditEvent.objects.filter(model="observability.slo", object_id=str(slo.pk)).exists()


def test_patch_back_off__and_again_unchanged_writes_no_history(writer, service, production):
    writer.patch(URL, {"exclude_maintenance": True, "reason": "on"}, format="json")
    slo = slo_named(service, production, "api-success")
    records = slo.history.count()

    off = writer.patch(URL, {"exclude_maintenance": False, "reason": "off"}, format="json")
    again = writer.patch(URL, {"exclude_maintenance": False, "reason": "off again"}, format="json")

    assert off.status_code == again.status_code == 200
    assert again.json()["exclude_maintenance"] is False
    assert slo.history.count() == records + 1


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None, [], {"on": True}])
def test_patch_with_a_value_that_is_not_a_json_boolean__400_naming_the_field(writer, service, production, value):
    response = writer.patch(URL, {"exclude_maintenance": value, "reason": "r"}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "exclude_maintenance" in response.json()["errors"]
    assert slo_named(service, production, "api-success").exclude_maintenance is False


def test_patch_without_the_field_or_the_reason__400_naming_them(writer, service):
    response = writer.patch(URL, {}, format="json")

    assert response.status_code == 400
    assert {"exclude_maintenance", "reason"} <= set(response.json()["errors"])


def test_patch_of_a_field_the_api_does_not_change__400_naming_it_and_nothing_written(writer, service, production):
    response = writer.patch(URL, {"exclude_maintenance": True, "objective": "0.5", "reason": "r"}, format="json")

    assert response.status_code == 400
    assert "Not changeable through the API" in response.json()["errors"]["objective"][0]
    slo = slo_named(service, production, "api-success")
    assert (slo.exclude_maintenance, str(slo.objective)) == (False, "0.99900000")


def test_patch_without_slos_write__403(api, make_token, service, production):
    response = api(make_token("sli:write")).patch(URL, {"exclude_maintenance": True, "reason": "r"}, format="json")

    assert response.status_code == 403
    assert "slos:write" in response.json()["detail"]
    assert slo_named(service, production, "api-success").exclude_maintenance is False


def test_patch_with_a_token_for_another_environment__403(api, make_token, service, preview):
    response = api(make_token("slos:write", environments=[preview])).patch(
        URL, {"exclude_maintenance": True, "reason": "r"}, format="json")

    assert response.status_code == 403
    assert not Slo.objects.filter(exclude_maintenance=True).exists()


def test_unknown_slo__404_naming_it(writer, service):
    response = writer.patch("/api/v1/slos/shop/production/nope", {"exclude_maintenance": True, "reason": "r"},
                            format="json")

    assert response.status_code == 404
    assert "no SLO 'nope'" in response.json()["detail"]


def test_status_answer__states_the_excluded_maintenance_minutes(
        writer, api, make_token, service, production, bad_hour_in_a_window, system_user):
    start, _ = bad_hour_in_a_window
    declare_maintenance(service, system_user, start, start + timedelta(hours=1),
                        created_at=start - timedelta(days=2))
    reader = api(make_token())

    def api_success() -> dict:
        answer = reader.get("/api/v1/slo/status", {"service": "shop", "environment": "production"})
        assert answer.status_code == 200
        return next(s for s in answer.json()["slos"] if s["slo"] == "api-success")

    before = api_success()
    assert (before["maintenance_excluded"], before["maintenance_excluded_minutes"]) == (False, 0)
    assert before["total"] - before["good"] == 3000  # the hour's 50% errors count

    writer.patch(URL, {"exclude_maintenance": True, "reason": "the upgrade was announced"}, format="json")

    after = api_success()
    assert (after["maintenance_excluded"], after["maintenance_excluded_minutes"]) == (True, 60)
    assert after["total"] - after["good"] == 0 and after["total"] == before["total"] - 60 * 100
