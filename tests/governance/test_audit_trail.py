"""Every governed change has history with actor and reason; nothing skips it."""

import pytest
from django.core.exceptions import ValidationError

from governance import services
from governance.audit_base import BulkWriteRefused, history_recorded_by_caller
from governance.models import AuditEvent, Service


def test_service_change__records_actor_reason_and_field_diff(service, operator):
    service.name = "Shop storefront"
    services.save_audited(instance=service, actor=operator, reason="rename for the catalogue",
                          update_fields=["name"])

    record = service.history.latest()
    assert (record.history_user, record.history_change_reason) == (operator, "rename for the catalogue")
    event = AuditEvent.objects.filter(model="governance.service", object_id=str(service.pk)).first()
    assert event is not None
    assert event.actor_name == "olga"
    assert event.change == "~"
    assert event.service_id == service.pk
    assert event.changes == [{"field": "name", "old": "Shop", "new": "Shop storefront"}]


@pytest.mark.parametrize("reason", ["", "   "])
def test_empty_reason__is_refused_and_nothing_is_written(service, operator, reason):
    service.name = "changed"
    with pytest.raises(ValidationError):
        services.save_audited(instance=service, actor=operator, reason=reason, update_fields=["name"])
    assert Service.objects.get(pk=service.pk).name == "Shop"


def test_save_without_reason_outside_services__is_refused(service):
    service.name = "sneaky"
    with pytest.raises(ValidationError, match="needs a reason"):
        service.save()


def test_queryset_update_on_audited_model__is_refused(service):
    with pytest.raises(BulkWriteRefused, match="skip the audit trail"):
        Service.objects.filter(pk=service.pk).update(name="bulk")
    assert Service.objects.get(pk=service.pk).name == "Shop"


def test_bulk_create_on_audited_model__is_refused(db):
    with pytest.raises(BulkWriteRefused):
        Service.objects.bulk_create([Service(slug="x", name="x")])
    assert not Service.objects.filter(slug="x").exists()


def test_bulk_write__allowed_only_inside_a_service_that_records_history(service):
    with history_recorded_by_caller():
        Service.objects.filter(pk=service.pk).update(owners="team-a")
    assert Service.objects.get(pk=service.pk).owners == "team-a"
    with pytest.raises(BulkWriteRefused):
        Service.objects.filter(pk=service.pk).update(owners="team-b")


def test_token_secret_digest__never_reaches_the_timeline(make_token):
    make_token("flags:read")
    event = AuditEvent.objects.get(model="governance.apitoken")
    assert "digest" not in {c["field"] for c in event.changes}


def test_long_reason__is_kept_whole(service, operator):
    reason = "incident INC-4711: " + "the payment provider timed out under load; " * 20
    service.owners = "payments on-call"
    services.save_audited(instance=service, actor=operator, reason=reason, update_fields=["owners"])
    assert service.history.latest().history_change_reason == reason.strip()
    event = AuditEvent.objects.filter(object_id=str(service.pk)).first()
    assert event is not None and event.reason == reason.strip()


def test_service_registered_through_the_api__names_the_token_in_its_reason(api, make_token, ci_user):
    response = api(make_token("releases:write", name="search CI")).post(
        "/api/v1/services", {"slug": "search", "name": "Search", "reason": "onboarding"}, format="json")
    assert response.status_code == 201
    record = Service.objects.get(slug="search").history.earliest()
    assert (record.history_user, record.history_change_reason) == (ci_user, "api (search CI): onboarding")
