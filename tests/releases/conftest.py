"""Fixtures for the releases app: commits, registered releases, gate policies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from governance import services as core
from releases import services
from releases.models import GatePolicy

COMMITS = [
    {"sha": "a" * 40, "message": "feat(cart): save carts for later (#12)", "author": "Dana <dana@example.com>",
     "time": datetime(2025, 3, 1, 9, 0, tzinfo=UTC)},
    {"sha": "b" * 40, "message": "fix: round totals half-even", "author": "Eve <eve@example.com>",
     "time": datetime(2025, 3, 2, 9, 0, tzinfo=UTC)},
]


def commits_json():
    return [{**c, "time": c["time"].isoformat()} for c in COMMITS]


@pytest.fixture
def register(system_user, service):
    def make(version="1.0.0", *, svc=None, actor=None, **fields):
        fields.setdefault("build_sha", "c0ffee" + "0" * 34)
        fields.setdefault("commits", COMMITS)
        result = services.register_release(service=svc or service, version=version, actor=actor or system_user,
                                           reason="test release", **fields)
        return result.release

    return make


@pytest.fixture
def release(register):
    return register("1.0.0")


@pytest.fixture
def gate_policy(system_user, service, production):
    def make(environment=None, **fields):
        env = environment or production
        policy = GatePolicy.objects.filter(service=service, environment=env).first() or GatePolicy(
            service=service, environment=env)
        for key, value in fields.items():
            setattr(policy, key, value)
        core.save_audited(instance=policy, actor=system_user, reason="test policy")
        return policy

    return make


@pytest.fixture
def second_manager(make_user):
    from governance import roles

    return make_user("ralph", roles.RELEASE_MANAGER)
