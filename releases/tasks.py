"""django-q2 entry points of the releases app: they take ids, load rows and call a service."""

from __future__ import annotations

from governance.services import system_user
from releases import services
from releases.models import Release


def run_deployment(deployment_id: int) -> str:
    deployment = services.execute_deployment(deployment_id=deployment_id, actor=system_user())
    return f"{deployment}: {deployment.error or 'ok'}"


def alert_stuck_promotions() -> int:
    return len(services.alert_stuck_promotions())


def materialise_recurring_freezes() -> str:
    results = services.materialise_recurring_freezes(actor=system_user(),
                                                     reason="task: materialise recurring freezes")
    created = sum(len(r.created) for r in results)
    removed = sum(len(r.removed) for r in results)
    return f"{len(results)} rule(s): {created} window(s) created, {removed} removed"


def post_summary(release_id: int) -> str:
    release = Release.objects.select_related("service").get(pk=release_id)
    return services.post_summary_to_pr(release=release, actor=system_user(),
                                       reason="task: post the deploy summary to the pull request")


def import_github_audit_log() -> str:
    from releases import github_audit

    run = github_audit.import_audit_log(reason="task: import GitHub's audit log")
    if run is None:
        return "GITHUB_ORG is not set: nothing to import"
    return f"{run}: {run.imported} imported, {run.duplicates} already known, {run.ignored} ignored {run.error}".strip()


def review_branch_protection() -> str:
    from releases import branch_protection

    reviews = branch_protection.review_all()
    return ", ".join(f"{r.service.slug}: {r.result}" for r in reviews) or "no services"
