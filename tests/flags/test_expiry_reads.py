"""An emergency toggle past its expiry: every read path serves it reverted at once and writes nothing.

flags.expiry decides what a toggle serves at a time; only the expiry job (services.revert_expired) records the
revert, as its own revision, so the push plane announces it like any change.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from flags import delivery, expiry, services, tasks
from flags.models import FlagState

TARGET = {"service": "shop", "environment": "production"}
HEADERS = {"HTTP_X_GOVERNANCE_SERVICE": "shop", "HTTP_X_GOVERNANCE_ENVIRONMENT": "production"}
WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Toggle:
    enabled: bool
    number: float | None
    expires_at: datetime | None
    revert_to: Any


@pytest.fixture
def overdue(service, production, operator):
    """kill_switch_api engaged for 10 minutes, 11 minutes ago (the job has not run)."""
    state = services.state_for(service=service, environment=production, key="kill_switch_api")
    state = services.engage_kill_switch(state=state, actor=operator, reason="INC-7 attack",
                                        expires_in=timedelta(minutes=10)).state
    services._apply(services._lock(state), {}, actor=operator, reason="test: eleven minutes pass",
                    expires_at=timezone.now() - timedelta(minutes=1), revert_to={"enabled": False})
    delivery.reset()
    return FlagState.objects.get(pk=state.pk)


def _writes(queries):
    # Left out: the database cache (no REDIS_URL) storing the built snapshot, and the token's last_used_at
    # (token bookkeeping, throttled, not the flags' data); any other write fails the test.
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)
            and "portal_cache" not in q["sql"]
            and not q["sql"].startswith('UPDATE "governance_apitoken" SET "last_used_at"')]


def _read_everything(api_client, admin_client, state):
    served = {}
    body = api_client.get("/api/v1/flags/snapshot", TARGET).json()
    served["snapshot"] = {f["name"]: f["enabled"] for f in body["features"]}["kill_switch_api"]
    rows = api_client.get("/api/v1/flags", TARGET).json()["flags"]
    row = next(r for r in rows if r["key"] == "kill_switch_api")
    served["list"] = row["enabled"]
    served["list expiry"] = row["expires_at"]
    body = api_client.post("/api/v1/flags/evaluate", {**TARGET, "flags": ["kill_switch_api"]}, format="json").json()
    served["evaluate"] = body["flags"]["kill_switch_api"]["value"]
    body = api_client.post("/ofrep/v1/evaluate/flags/kill_switch_api", {"context": {}}, format="json",
                           **HEADERS).json()
    served["ofrep"] = body["value"]
    body = api_client.get("/api/client/features", **HEADERS).json()
    served["unleash"] = {f["name"]: f["enabled"] for f in body["features"]}["kill_switch_api"]
    console = admin_client.get(reverse("admin:flags_ops_console", args=["shop"]))
    row = next(r for env in console.context["environments"] for r in env["states"] if r["state"].pk == state.pk)
    served["console"] = row["summary"]
    confirm = admin_client.get(reverse("admin:flags_ops_action", args=["shop", state.pk, "engage"]))
    served["confirm"] = confirm.context["summary"]
    return served


def test_overdue_toggle__every_read_serves_it_reverted_and_writes_nothing(api, make_token, client, operator,
                                                                         overdue):
    api_client = api(make_token("flags:read"))
    client.force_login(operator)
    revision = overdue.revision

    with CaptureQueriesContext(connection) as captured:
        served = _read_everything(api_client, client, overdue)

    assert served == {"snapshot": False, "list": False, "list expiry": None, "evaluate": False, "ofrep": False,
                      "unleash": False, "console": "off", "confirm": "off"}
    assert _writes(captured.captured_queries) == []
    stored = FlagState.objects.get(pk=overdue.pk)
    assert (stored.enabled, stored.revision) == (True, revision)  # nothing recorded by a read


def test_expiry_job__records_the_revert_once_as_a_new_revision(overdue):
    assert tasks.revert_expired() == 1
    stored = FlagState.objects.get(pk=overdue.pk)
    assert (stored.enabled, stored.expires_at, stored.revert_to) == (False, None, None)
    assert stored.revision > overdue.revision  # a new revision: the stream announces it like any change
    assert stored.history.latest().history_change_reason.startswith("expired: emergency toggle set until")
    assert tasks.revert_expired() == 0


def test_change_to_an_overdue_toggle__records_the_revert_first_and_judges_against_it(overdue, operator):
    outcome = services.engage_kill_switch(state=overdue, actor=operator, reason="INC-8 again",
                                          expected_revision=overdue.revision)
    reasons = [h.history_change_reason for h in FlagState.objects.get(pk=overdue.pk).history.order_by("-history_id")[:2]]
    assert outcome.applied and outcome.state.enabled and outcome.state.expires_at is None
    assert reasons[0] == "INC-8 again" and reasons[1].startswith("expired: emergency toggle set until")


def test_effective__serves_the_restored_values_from_the_expiry_on():
    now = timezone.now()
    toggle = Toggle(enabled=True, number=None, expires_at=now, revert_to={"enabled": False, "ignored": 1})

    assert expiry.effective(toggle, now=now - timedelta(seconds=1)) == {"enabled": True, "number": None,
                                                                            "expires_at": now}
    assert expiry.effective(toggle, now=now) == {"enabled": False, "number": None, "expires_at": None}


@pytest.mark.parametrize("duration", [timedelta(0), timedelta(seconds=-1), timedelta(days=30, seconds=1)])
def test_duration_outside_the_limits__is_refused(duration):
    with pytest.raises(expiry.ExpiryError):
        expiry.expires_at(duration, now=timezone.now())


def test_maintenance__defaults_to_the_module_s_limit(service, production, operator):
    state = services.enter_maintenance(service=service, environment=production, actor=operator, reason="upgrade").state
    assert state.expires_at is not None
    assert expiry.DEFAULT_MAINTENANCE - timedelta(seconds=5) < state.expires_at - timezone.now() <= \
        expiry.DEFAULT_MAINTENANCE
