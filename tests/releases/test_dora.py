"""DORA metrics from constructed promotion and rollback records, and the admin page that charts them."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from releases import queries
from releases.models import Deployment, Release


def at(day, hour=0):
    return datetime(2025, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def make(system_user, service, production):
    def release(version, first_commit_at, messages=("feat: something",), svc=None):
        r = Release(service=svc or service, version=version, tag=f"v{version}", build_sha="a" * 40,
                    evidence_digest="0" * 64, first_commit_at=first_commit_at, state="superseded",
                    commits=[{"sha": f"{i}" * 40, "message": m} for i, m in enumerate(messages)])
        r.stamp(actor=system_user, reason="test record")
        r.save()
        return r

    def deployment(release, finished_at, kind="promotion", status="succeeded", environment=None, replaces=None):
        d = Deployment(service=release.service, release=release, environment=environment or production, kind=kind,
                       status=status, provider="record", reason="test", created_at=finished_at,
                       started_at=finished_at, finished_at=finished_at, replaces=replaces)
        d.stamp(actor=system_user, reason="test record")
        d.save()
        return d

    return release, deployment


@pytest.fixture
def history(make, preview, other_service):
    release, deploy = make
    r1 = release("1.0.0", at(1))
    deploy(r1, at(3, 12))                                    # lead 60 h
    r2 = release("1.1.0", at(4))
    deploy(r2, at(4, 6))                                     # lead 6 h
    deploy(r1, at(4, 7), kind="rollback", replaces=r2)       # r2 failed: restored after 1 h
    r3 = release("1.1.1", at(4, 8), ["fix: cart total"])
    deploy(r3, at(4, 12), environment=preview)               # previews do not count
    deploy(r3, at(5, 8))                                     # lead 24 h (also a hotfix of r2, later than the rollback)
    r4 = release("1.2.0", at(9))
    deploy(r4, at(10))                                       # lead 24 h
    r5 = release("1.2.1", at(10, 2), ["fix: checkout crash"])
    deploy(r5, at(10, 4))                                    # lead 2 h; a hotfix of r4 after 4 h
    deploy(r5, at(11), kind="deploy")                        # a redeploy of r5 is not a new change
    r6 = release("1.3.0", at(12))
    deploy(r6, at(12, 5), status="failed")                   # failed deployments are not deployments
    other = release("5.0.0", at(2), svc=other_service)
    deploy(other, at(6))


def test_weekly_metrics__per_period_and_in_total(history, service):
    report = queries.dora_metrics(service=service, since=at(3), until=at(17), period="week")
    week1, week2 = report.periods
    assert (week1.start, week2.start) == (at(3), at(10))
    assert (week1.deployments, week1.lead_time_median) == (3, timedelta(hours=24))
    assert (week1.failures, week1.change_failure_rate, week1.time_to_restore_median) == (1, 1 / 3, timedelta(hours=1))
    assert (week2.deployments, week2.lead_time_median) == (2, timedelta(hours=13))
    assert (week2.failures, week2.change_failure_rate, week2.time_to_restore_median) == (1, 0.5, timedelta(hours=4))
    total = report.total
    assert (total.deployments, total.failures, total.change_failure_rate) == (5, 2, 0.4)
    assert total.lead_time_median == timedelta(hours=24)
    assert total.time_to_restore_median == timedelta(hours=2, minutes=30)
    assert report.deployments_per_week == 2.5


def test_all_services__include_the_others(history):
    report = queries.dora_metrics(since=at(3), until=at(17), period="week")
    assert report.total.deployments == 6


def test_a_hotfix_outside_the_window__is_not_a_failure(history, service):
    report = queries.dora_metrics(service=service, since=at(3), until=at(17), failure_window=timedelta(hours=3))
    assert report.total.failures == 1  # only the rollback after 1 h; the 4 h hotfix is outside 3 h


def test_daily_periods__cover_the_range_with_empty_days(history, service):
    report = queries.dora_metrics(service=service, since=at(3), until=at(6), period="day")
    assert [p.deployments for p in report.periods] == [1, 1, 1]
    assert report.periods[1].failures == 1


def test_bad_range_or_period__is_a_validation_error(db):
    with pytest.raises(ValidationError):
        queries.dora_metrics(since=at(5), until=at(3))
    with pytest.raises(ValidationError):
        queries.dora_metrics(since=at(3), until=at(5), period="quarter")


def test_dora_page__charts_the_metrics(client, release_manager, make, service):
    release, deploy = make
    now = timezone.now()
    r = release("2.0.0", now - timedelta(days=2))
    deploy(r, now - timedelta(days=1))
    client.force_login(release_manager)
    response = client.get(reverse("admin:releases_release_dora"), {"service": service.pk, "period": "week",
                                                                   "weeks": 4})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page and 'role="img"' in page and "1 deployments, 0 failed" in page
    assert "DORA metrics: shop" in page and "1 production deployments" in page and "1 day" in page
    assert "<script" not in page.split('<div id="content"')[-1]
    assert client.get(reverse("admin:releases_release_changelist")).content.decode().count("DORA metrics") >= 1
