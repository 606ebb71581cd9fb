"""Two promotions of one service at once cannot both proceed; stuck promotions raise an alert."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from governance import services as core
from releases import services
from releases.models import Deployment, ReleaseAlert


def _approved(register, production, manager, version):
    release = register(version)
    services.approve_release(release=release, environment=production, actor=manager, reason="reviewed")
    return release


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_promotions_at_once__only_one_proceeds(register, production, release_manager, second_manager,
                                                   webhook_service, receiver):
    first, second = (_approved(register, production, second_manager, v) for v in ("1.1.0", "1.2.0"))
    receiver.hold.clear()  # the winner's provider call waits here, so its deployment stays running
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def promote(release):
        try:
            barrier.wait()
            outcomes[release.version] = services.start_promotion(release=release, environment=production,
                                                                 actor=release_manager, reason="race")
        except Exception as exc:  # noqa: BLE001 - the loser's error is asserted below
            outcomes[release.version] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=promote, args=(r,)) for r in (first, second)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while not any(isinstance(o, Exception) for o in outcomes.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    receiver.hold.set()
    for t in threads:
        t.join()
    errors = [o for o in outcomes.values() if isinstance(o, Exception)]
    assert len(errors) == 1, outcomes
    assert isinstance(errors[0], services.Conflict)
    assert "is in progress" in errors[0].messages[0]
    winner = next(o for o in outcomes.values() if isinstance(o, Deployment))
    winner.refresh_from_db()
    assert winner.status == "succeeded"
    assert Deployment.objects.filter(kind="promotion").count() == 1
    assert len(receiver.received) == 1


def test_active_deployments__are_unique_per_service_and_environment_in_the_database(release, production,
                                                                                      system_user):
    def pending():
        d = Deployment(service=release.service, release=release, environment=production, kind="promotion",
                       status="pending", provider="record", reason="test")
        d.stamp(actor=system_user, reason="test")
        d.save()

    pending()
    with pytest.raises(IntegrityError), transaction.atomic():
        pending()


def test_stuck_promotion__raises_one_alert_and_notifies(register, production, release_manager, second_manager,
                                                        receiver, monkeypatch, system_user):
    release = _approved(register, production, second_manager, "1.1.0")
    services.start_promotion(release=release, environment=production, actor=release_manager, reason="ship")
    # The task never ran (its on_commit callback is not executed here): the release stays in promoting.
    release.refresh_from_db()
    assert release.state == "promoting"
    release.state_changed_at -= timedelta(minutes=45)
    core.save_audited(instance=release, actor=system_user, reason="test: promoting for 45 minutes",
                      update_fields=["state_changed_at"])
    monkeypatch.setenv("RELEASES_ALERT_WEBHOOK_SECRET", receiver.secret)
    with override_settings(RELEASES_ALERT_WEBHOOK_URL=receiver.url, RELEASES_PROMOTION_STUCK_MINUTES=30):
        [alert] = services.alert_stuck_promotions()
        assert services.alert_stuck_promotions() == []  # one alert per occurrence
    assert alert.kind == "stuck-promotion" and "promoting for 45 min" in alert.message
    assert alert.notified and ReleaseAlert.objects.count() == 1
    [delivery] = receiver.received
    assert delivery["valid"] and delivery["event"] == "release.alert"
    # The deprecated RELEASES_ALERT_WEBHOOK_URL is an implicit channel of the one routing path: the standard
    # notification webhook body, the event in header and body, and a recorded delivery.
    assert delivery["body"]["fields"]["version"] == "1.1.0" and delivery["body"]["event"] == "release.alert"
    from observability.models import NotificationDelivery

    [recorded] = NotificationDelivery.objects.filter(source="governance-portal/releases")
    assert recorded.delivered and recorded.channel_name.startswith("release-alerts") and recorded.alert is None


def test_stuck_promotion_task__is_scheduled():
    from governance.schedules import SCHEDULES

    assert any(s["func"] == "releases.tasks.alert_stuck_promotions" for s in SCHEDULES)
