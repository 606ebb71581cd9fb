"""The stale-flag report: past the expected lifetime, or identical everywhere and unchanged for N days."""

from datetime import timedelta

from django.utils import timezone

from flags import queries, services


def test_flag_past_its_lifetime__is_stale(make_flag):
    flag = make_flag("old-experiment", expected_lifetime_days=30)
    [stale] = queries.stale_flags(now=timezone.now() + timedelta(days=31))
    assert stale.flag == flag and "past its expected lifetime" in stale.why


def test_flag_identical_everywhere_and_unchanged__is_stale(make_flag, state_of, system_user):
    flag = make_flag("done-rollout", expected_lifetime_days=365)
    for env in ("development", "preview", "production"):
        services._apply(services._lock(state_of(flag, env)), {"enabled": True}, actor=system_user, reason="fixture")
    later = timezone.now() + timedelta(days=31)
    assert [s.flag for s in queries.stale_flags(now=later, unchanged_days=30)] == [flag]
    assert queries.stale_flags(now=timezone.now() + timedelta(days=10), unchanged_days=30) == []


def test_flag_that_differs_between_environments__is_not_stale(make_flag, state_of, system_user):
    flag = make_flag("rolling", expected_lifetime_days=365)
    services.set_enabled(state=state_of(flag, "development"), enabled=True, actor=system_user, reason="dev")
    assert queries.stale_flags(now=timezone.now() + timedelta(days=60), unchanged_days=30) == []


def test_permanent_and_builtin_flags__are_never_stale(service, make_flag):
    make_flag("permission-x", expected_lifetime_days=None, kind="permission")
    assert queries.stale_flags(now=timezone.now() + timedelta(days=3650)) == []
