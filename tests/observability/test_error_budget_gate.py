"""The "error-budget" gate input: block production while a budget is exhausted, unless overridden."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from governance import hooks
from observability import gates, services, slo_math
from observability.models import ErrorBudgetOverride
from tests.observability.conftest import steady


def _release(service, pk=1):
    return SimpleNamespace(service_id=service.pk, pk=pk)


@pytest.fixture
def exhausted(service, production, write_points, now):
    """A week of api-success traffic with 0.2% errors: twice the 0.1% the objective allows."""
    write_points(service, production, steady(slo_math.window_end(now), 7 * 24 * 60, total=500, errors=1))


@pytest.fixture
def healthy(service, production, write_points, now):
    write_points(service, production, steady(slo_math.window_end(now), 7 * 24 * 60, total=500))


def test_gate__is_registered_under_its_name(db):
    assert hooks.GATE_INPUTS["error-budget"] is gates.error_budget_gate


def test_exhausted_budget_in_production__blocks_with_the_figures(service, production, exhausted):
    result = gates.error_budget_gate(release=_release(service), environment=production)

    assert (result.name, result.verdict, result.code) == ("error-budget", "block", "error_budget_exhausted")
    assert "api-success" in result.details["exhausted"]
    assert result.details["slo"] in result.details["exhausted"]
    success = next(f for f in result.details["slos"] if f["slo"] == "api-success")
    assert success["compliance"] == pytest.approx(0.998)
    assert success["budget_remaining_fraction"] == pytest.approx(-1.0)
    assert success["verdict"] == "breached"
    assert "api-success" in result.message and "override" in result.message


def test_healthy_budget__allows(service, production, healthy):
    result = gates.error_budget_gate(release=_release(service), environment=production)
    assert (result.verdict, result.code) == ("allow", "error_budget_available")


def test_not_enough_data__allows_and_says_so(service, production, write_points, now):
    write_points(service, production, steady(slo_math.window_end(now), 5, total=10, errors=5))
    result = gates.error_budget_gate(release=_release(service), environment=production)
    assert (result.verdict, result.code) == ("allow", "no_data") and result.message.startswith("No data")
    assert "budget left" not in result.message


def test_preview__is_not_gated_by_the_budget(service, preview, exhausted):
    result = gates.error_budget_gate(release=_release(service), environment=preview)
    assert (result.verdict, result.code) == ("allow", "not_production")


def test_release_manager_override__allows_and_is_audited(service, production, exhausted, release_manager):
    override = services.grant_error_budget_override(service=service, release_id=None,
                                                    expires_at=timezone.now() + timedelta(hours=4),
                                                    actor=release_manager, reason="security fix must ship")

    result = gates.error_budget_gate(release=_release(service, pk=42), environment=production)

    assert (result.verdict, result.code) == ("allow", "error_budget_overridden")
    assert result.details["override"]["granted_by"] == "rita"
    assert result.details["override"]["reason"] == "security fix must ship"
    assert result.details["exhausted"]  # the figures are still reported
    record = override.history.latest()
    assert (record.history_user, record.history_change_reason) == (release_manager, "security fix must ship")


def test_override_for_one_release__does_not_cover_another(service, production, exhausted, release_manager):
    services.grant_error_budget_override(service=service, release_id=7, expires_at=timezone.now() + timedelta(hours=1),
                                         actor=release_manager, reason="hotfix 7 only")
    assert gates.error_budget_gate(release=_release(service, pk=7), environment=production).verdict == "allow"
    assert gates.error_budget_gate(release=_release(service, pk=8), environment=production).verdict == "block"


def test_expired_or_revoked_override__blocks_again(service, production, exhausted, release_manager):
    override = services.grant_error_budget_override(service=service, expires_at=timezone.now() + timedelta(hours=1),
                                                    actor=release_manager, reason="ship it")
    services.revoke_error_budget_override(override=override, actor=release_manager, reason="fixed differently")
    assert gates.error_budget_gate(release=_release(service), environment=production).verdict == "block"
    assert override.history.latest().history_change_reason == "fixed differently"


def test_operator__cannot_override(service, operator):
    with pytest.raises(ValidationError, match="release manager"):
        services.grant_error_budget_override(service=service, expires_at=timezone.now() + timedelta(hours=1),
                                             actor=operator, reason="please")
    assert not ErrorBudgetOverride.objects.exists()


@pytest.mark.parametrize(("delta", "message"), [(timedelta(hours=-1), "in the future"),
                                                (timedelta(days=30), "at most 168 hours")])
def test_override_expiry__is_bounded(service, release_manager, delta, message):
    with pytest.raises(ValidationError, match=message):
        services.grant_error_budget_override(service=service, expires_at=timezone.now() + delta,
                                             actor=release_manager, reason="x")


def test_override_without_reason__is_refused(service, release_manager):
    with pytest.raises(ValidationError):
        services.grant_error_budget_override(service=service, expires_at=timezone.now() + timedelta(hours=1),
                                             actor=release_manager, reason="  ")


def test_gate__reads_a_bounded_number_of_queries(service, production, exhausted, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        gates.error_budget_gate(release=_release(service), environment=production)
