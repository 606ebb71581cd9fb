"""The one way a release goes live in production, whichever path took it there.

CI recording a production deployment (`record_deployment`), a promotion run by the provider and a rollback's
re-promotion of an earlier release (`complete_deployment`) all end here, so the rows are written in one order:

1. the release → `live`;
2. the release that was live → `superseded` (`rolled_back` when the deployment is a rollback);
3. the deployment row: succeeded, `finished_at` and `replaces` (what DORA reads: deployment frequency and lead
   time from `finished_at`, change failure and time to restore from a rollback's `replaces`);
4. on commit: the DEPLOYMENT_RECORDED hooks (SLO snapshots), then notifications (the deploy summary on the PR).

It runs inside the caller's transaction, with the service and the release locked: a failure at any step
leaves none of the rows.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from governance import hooks
from releases import queries
from releases.models import Deployment, Release
from releases.services.common import transition

S = Release.State


def fire_deployment_recorded(deployment: Deployment) -> None:
    """Run the DEPLOYMENT_RECORDED hooks once the deployment is committed."""
    for hook in hooks.DEPLOYMENT_RECORDED:
        def call(hook: Any = hook) -> None:
            hook(deployment=deployment)

        # robust: a failing subscriber is logged and never undoes (or 500s) a recorded deployment.
        transaction.on_commit(call, robust=True)


def _notify_on_commit(release: Release) -> None:
    if settings.RELEASES_POST_SUMMARY_TO_PR and release.pr_url and os.environ.get("GITHUB_TOKEN"):
        pk = release.pk
        transaction.on_commit(lambda: async_task("releases.tasks.post_summary", pk), robust=True)


@transaction.atomic
def go_live(*, deployment: Deployment, actor: Any, reason: str, finished_at: datetime | None = None) -> Deployment:
    """Make `deployment.release` the live release of its service in production and record the deployment.

    `deployment` is new (a deployment CI recorded) or an active, locked promotion or rollback; its release is
    locked by the caller and not live yet.
    """
    assert deployment.environment.is_production, "only a production deployment makes a release live"
    release = deployment.release
    live = queries.live_release(deployment.service)
    previous = None if live is None or live.pk == release.pk else (
        Release.objects.select_for_update(of=("self",)).select_related("service").get(pk=live.pk))
    # 1. the release
    transition(release, S.LIVE, actor=actor, reason=reason)
    # 2. the one live before it
    if previous is not None:
        if deployment.kind == Deployment.Kind.ROLLBACK:
            transition(previous, S.ROLLED_BACK, actor=actor, reason=reason)
        else:
            transition(previous, S.SUPERSEDED, actor=actor, reason=f"{release} went live: {reason}")
    # 3. the deployment row, with the fields DORA reads
    deployment.status = Deployment.Status.SUCCEEDED
    deployment.finished_at = finished_at or timezone.now()
    deployment.replaces = previous
    deployment.stamp(actor=actor, reason=reason)
    deployment.save()
    # 4. after commit: hooks, then notifications
    fire_deployment_recorded(deployment)
    _notify_on_commit(release)
    return deployment
