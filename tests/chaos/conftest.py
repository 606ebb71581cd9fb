"""Chaos fixtures: a preview target, a run-ready experiment, fast engine checks."""

from __future__ import annotations

import pytest

from chaos import ctk, services


@pytest.fixture(autouse=True)
def _fast_checks(settings):
    settings.CHAOS_CHECK_INTERVAL_SECONDS = 0.05
    settings.CHAOS_MAX_SHARE = 1.0


@pytest.fixture
def maintainer(make_user):
    return make_user("maint", "Maintenance admin")


def experiment_definition(*, hypothesis_tolerance=None, pause_after: float = 0.3, kind: str = "http_errors",
                          params=None, rollback: bool = True):
    probes = []
    if hypothesis_tolerance is not None:
        probes.append({"type": "probe", "name": "faults in force", "tolerance": hypothesis_tolerance,
                       "provider": {"type": "python", "module": "govctl.chaos_actions", "func": "active_faults",
                                    "arguments": {"service": "${service}", "environment": "${environment}"}}})
    return {
        "title": "test drill", "description": "a fault and a pause",
        "configuration": {"service": "shop", "environment": "preview"},
        "steady-state-hypothesis": {"title": "steady", "probes": probes},
        "method": [ctk.fault_action(name="inject", service="shop", environment="preview", kind=kind,
                                    params=params or {"status": 503}, ttl_seconds=60, reason="test",
                                    pause_after=pause_after)],
        "rollbacks": [ctk.halt_rollback(reason="test rollback")] if rollback else [],
    }


@pytest.fixture
def make_experiment(service, maintainer):
    def make(key: str = "drill", **kwargs):
        return services.save_experiment(service=service, key=key, definition=experiment_definition(**kwargs),
                                        actor=maintainer, reason="test experiment")

    return make
