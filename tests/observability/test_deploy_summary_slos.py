"""The deploy summary shows each production deployment's error budget before (and later after) it."""

from releases import services as releases
from releases import summary


def test_production_deployment__summary_lists_budget_before_and_pending_after(service, production, system_user,
                                                                             write_points, now,
                                                                             django_capture_on_commit_callbacks):
    from observability import slo_math
    from tests.observability.conftest import steady

    write_points(service, production, steady(slo_math.window_end(now), 120, total=100, errors=1))
    result = releases.register_release(service=service, version="1.0.0", build_sha="c" * 40, commits=[],
                                       actor=system_user, reason="test release")
    with django_capture_on_commit_callbacks(execute=True):  # the hook runs on commit
        deployment = releases.record_deployment(release=result.release, environment=production,
                                                status="succeeded", actor=system_user, reason="deployed by CI")
    text = summary.render(result.release, production)
    assert "## SLOs around production deployments" in text
    row = next(line for line in text.splitlines() if line.startswith(f"| {deployment.pk} | api-success |"))
    assert "| pending |" in row  # the after snapshot is scheduled SLO_SNAPSHOT_AFTER_MINUTES later


def test_preview_deployment__adds_no_slo_section(service, preview, system_user, django_capture_on_commit_callbacks):
    result = releases.register_release(service=service, version="1.0.0", build_sha="c" * 40, commits=[],
                                       actor=system_user, reason="test release")
    with django_capture_on_commit_callbacks(execute=True):
        releases.record_deployment(release=result.release, environment=preview, status="succeeded",
                                   actor=system_user, reason="deployed by CI")
    assert "SLOs around production deployments" not in summary.render(result.release, preview)
