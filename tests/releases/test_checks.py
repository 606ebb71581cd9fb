"""Checks reported by CI: created, updated on re-report (audited), clear errors."""

import pytest

from releases.models import Check


@pytest.fixture
def ci(api, make_token, service):
    return api(make_token("checks:write"))


def test_report__creates_then_updates_the_check_with_history(ci, release):
    url = f"/api/v1/releases/{release.pk}/checks"
    first = ci.post(url, {"name": "tests", "status": "pending"}, format="json")
    assert first.status_code == 201
    again = ci.post(url, {"name": "tests", "status": "success", "url": "https://ci.example.com/run/7",
                          "summary": "412 passed"}, format="json")
    assert again.status_code == 200 and again.json()["status"] == "success"
    check = Check.objects.get(release=release, name="tests")
    assert [h.status for h in check.history.order_by("history_date")] == ["pending", "success"]
    assert check.history.latest().history_change_reason.startswith("api (ci)")
    assert check.evidence_digest == release.evidence_digest


def test_same_report_twice__changes_nothing(ci, release):
    url = f"/api/v1/releases/{release.pk}/checks"
    ci.post(url, {"name": "smoke", "status": "success"}, format="json")
    ci.post(url, {"name": "smoke", "status": "success"}, format="json")
    assert Check.objects.get(name="smoke").history.count() == 1


def test_invalid_status__is_400_listing_the_statuses(ci, release):
    response = ci.post(f"/api/v1/releases/{release.pk}/checks", {"name": "tests", "status": "passed"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["status"] == [
        "'passed' is not a check status; use pending, success, failure or neutral."]


def test_invalid_name__is_400(ci, release):
    response = ci.post(f"/api/v1/releases/{release.pk}/checks", {"name": "Unit Tests", "status": "success"},
                       format="json")
    assert response.status_code == 400 and "name" in response.json()["errors"]


def test_unknown_release__is_404(ci, db):
    assert ci.post("/api/v1/releases/999999/checks", {"name": "tests", "status": "success"},
                   format="json").status_code == 404


def test_check_audit_events__carry_the_service(ci, release):
    from governance.models import AuditEvent

    ci.post(f"/api/v1/releases/{release.pk}/checks", {"name": "tests", "status": "success"}, format="json")
    event = AuditEvent.objects.filter(model="releases.check").latest("at")
    assert event.service_id == release.service_id
    release_event = AuditEvent.objects.filter(model="releases.release", object_id=str(release.pk)).first()
    assert release_event is not None and release_event.service_id == release.service_id
