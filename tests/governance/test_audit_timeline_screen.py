"""The auditor's timeline on one screen: compact rows, folded diffs, filters that combine, export and verify links."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance import services
from governance.models import AuditEvent, Environment

pytestmark = pytest.mark.django_db


def _rename(service, actor, name, reason):
    service.name = name
    services.save_audited(instance=service, actor=actor, reason=reason, update_fields=["name"])


def test_timeline_row__folds_the_diff_under_a_summary_of_the_fields(client, auditor, service, operator):
    _rename(service, operator, "Renamed shop", "brand refresh")
    client.force_login(auditor)
    page = client.get(reverse("admin:governance_auditevent_changelist"), {"model": "governance.service"})
    html = page.content.decode()
    assert '<details class="audit-diff"><summary>1 field: name</summary>' in html
    assert "<del><pre>Shop</pre></del>" in html  # the whole value is still there, one click away


def test_filters__combine_actor_model_service_environment_and_source(client, auditor, service, operator,
                                                                     release_manager):
    _rename(service, operator, "by olga", "olga's rename")
    _rename(service, release_manager, "by rita", "rita's rename")
    production = Environment.objects.get(slug="production")
    event = AuditEvent.objects.get(reason="olga's rename")
    client.force_login(auditor)
    url = reverse("admin:governance_auditevent_changelist")
    common = {"actor": event.actor_name, "model": "governance.service", "service": str(service.pk),
              "source__exact": event.source}
    page = client.get(url, common).content.decode()
    assert "olga&#x27;s rename" in page and "rita&#x27;s rename" not in page
    assert "olga&#x27;s rename" not in client.get(url, {**common, "source__exact": "api"}).content.decode()
    narrowed = client.get(url, {**common, "environment": str(production.pk)}).content.decode()
    assert "olga&#x27;s rename" not in narrowed  # a service's own rename belongs to no environment


def test_timeline__links_to_the_export_with_its_filters_and_to_the_verification_steps(client, auditor, service):
    client.force_login(auditor)
    page = client.get(reverse("admin:governance_auditevent_changelist"),
                      {"actor": "olga", "service": str(service.pk)}).content.decode()
    export = reverse("admin:governance_auditevent_export")
    assert f'href="{export}?actor=olga&amp;service={service.slug}"' in page
    form = client.get(f"{export}?actor=olga&service={service.slug}").content.decode()
    assert 'name="actor" value="olga"' in form and f'<option value="{service.slug}" selected>' in form
    steps = client.get(reverse("admin:governance_auditevent_verify")).content.decode()
    assert "govctl audit verify audit.jsonl --public-key keys.json" in steps and "Exit codes" in steps
