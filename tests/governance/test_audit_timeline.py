"""The merged audit timeline: filters, diffs, and a bounded query count on 100k events."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import services
from governance.models import AuditEvent


@pytest.fixture
def many_events(service, operator):
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        [AuditEvent(at=now - timedelta(seconds=i), actor=operator, actor_name="olga",
                    model="governance.service" if i % 2 else "flags.flag", object_id=str(i % 500),
                    object_repr=f"object {i % 500}", change="~", reason=f"bulk {i}",
                    service_id=service.pk if i % 3 == 0 else None,
                    changes=[{"field": "name", "old": "a", "new": "b"}], history_id=i)
         for i in range(100_000)],
        batch_size=5000,
    )


def test_timeline__pages_through_100k_events_with_bounded_queries(client, auditor, many_events, service):
    client.force_login(auditor)
    url = reverse("admin:governance_auditevent_changelist")
    client.get(reverse("admin:index"))  # builds this process's copy of the portal's flags once
    for params in ({}, {"model": "governance.service"}, {"actor": "olga"}, {"service": str(service.pk)},
                   {"q": "42"}, {"p": "50"}):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, params)
        assert response.status_code == 200, params
        assert len(ctx.captured_queries) <= 15, (params, len(ctx.captured_queries))
    assert b"bulk 0" in client.get(url).content


def test_timeline__shows_a_real_change_with_its_diff(client, auditor, service, operator):
    service.name = "Renamed shop"
    services.save_audited(instance=service, actor=operator, reason="brand refresh", update_fields=["name"])
    client.force_login(auditor)
    page = client.get(reverse("admin:governance_auditevent_changelist"), {"model": "governance.service"}).content
    assert b"brand refresh" in page and b"<del><pre>Shop</pre></del>" in page and b"<ins><pre>Renamed shop</pre></ins>" in page


def test_timeline__filters_by_an_arbitrary_date_range(client, auditor, service, operator):
    service.owners = "x"
    services.save_audited(instance=service, actor=operator, reason="in range", update_fields=["owners"])
    client.force_login(auditor)
    url = reverse("admin:governance_auditevent_changelist")
    now = timezone.now()
    inside = client.get(url, {"at__gte": (now - timedelta(minutes=5)).isoformat(),
                              "at__lt": (now + timedelta(minutes=5)).isoformat()})
    outside = client.get(url, {"at__gte": (now + timedelta(days=1)).isoformat()})
    assert inside.status_code == outside.status_code == 200
    assert b"in range" in inside.content and b"in range" not in outside.content
