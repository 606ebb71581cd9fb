"""Deployments: recorded by CI, or promotions and rollbacks run by a deploy provider; stuck-promotion alerts."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from governance.models import Environment, Service
from governance.services import require_reason
from releases import gates, github, providers, queries, summary
from releases.models import Deployment, Release, ReleaseAlert
from releases.services.common import Conflict, transition
from releases.services.golive import fire_deployment_recorded, go_live

logger = logging.getLogger(__name__)
S = Release.State
D = Deployment.Status


def _require_release_manager(actor: Any, what: str) -> None:
    if not actor.has_perm("releases.change_release"):
        raise ValidationError(f"{actor.get_username()} may not {what}: it needs the Release manager role")


def _refuse_if_busy(service: Service, environment: Environment) -> None:
    busy = queries.active_deployment(service, environment)
    if busy is not None:
        who = busy.requested_by.get_username() if busy.requested_by else "CI"
        raise Conflict(f"a {busy.kind} of {busy.release} to {environment.slug} by {who} is in progress "
                       f"(deployment #{busy.pk}, since {busy.created_at:%Y-%m-%d %H:%M:%S} UTC); wait for it to finish")


def _enqueue(deployment: Deployment) -> None:
    pk = deployment.pk
    transaction.on_commit(lambda: async_task("releases.tasks.run_deployment", pk), robust=True)


@transaction.atomic
def record_deployment(*, release: Release, environment: Environment, status: str, actor: Any, reason: str,
                      url: str = "", provider_ref: str = "", started_at: datetime | None = None,
                      finished_at: datetime | None = None) -> Deployment:
    """Record a deployment CI made; a production deployment moves the release along the state machine."""
    reason = require_reason(reason)
    if status not in (D.SUCCEEDED, D.FAILED):
        raise ValidationError({"status": f"'{status}' is not a recorded deployment status; use succeeded or failed"})
    service = Service.objects.select_for_update().get(pk=release.service_id)
    release = Release.objects.select_for_update(of=("self",)).select_related("service").get(pk=release.pk)
    finished_at = finished_at or timezone.now()
    started_at = started_at or finished_at
    if started_at > finished_at:
        raise ValidationError({"started_at": "a deployment cannot start after it finished"})
    gate: dict[str, Any] = {}
    if environment.is_production:
        _refuse_if_busy(service, environment)
        # Kept with the record: a deployment made while the gate said no is visible afterwards.
        gate = gates.evaluate(release, environment).to_dict()
    deployment = Deployment(
        service=service, release=release, environment=environment, kind=Deployment.Kind.DEPLOY, status=status,
        provider="ci", provider_ref=provider_ref, url=url, replaces=None, requested_by=None, reason=reason,
        gate=gate, created_at=started_at, started_at=started_at, finished_at=finished_at,
    )
    # Bad input is refused before anything is written.
    deployment.full_clean(validate_unique=False, validate_constraints=False)
    if environment.is_production and status == D.SUCCEEDED and release.state != S.LIVE:
        return go_live(deployment=deployment, actor=actor, reason=reason, finished_at=finished_at)
    if environment.is_production and status == D.FAILED and release.state != S.LIVE:
        transition(release, S.FAILED, actor=actor, reason=reason)
    elif not environment.is_production and status == D.SUCCEEDED and release.state == S.REGISTERED:
        transition(release, S.IN_PREVIEW, actor=actor, reason=reason)
    deployment.stamp(actor=actor, reason=reason)
    deployment.save()
    if status == D.SUCCEEDED:
        fire_deployment_recorded(deployment)
    return deployment


@transaction.atomic
def start_promotion(*, release: Release, environment: Environment, actor: Any, reason: str) -> Deployment:
    """Run the gate again and, if it allows, start the provider's promotion in a background task."""
    reason = require_reason(reason)
    _require_release_manager(actor, "promote releases")
    if not environment.is_production:
        raise ValidationError(f"promotions from the portal go to production; deployments to {environment.slug} are "
                              "made by CI and recorded with `govctl deploy record`")
    # The service row is the promotion lock: a second promotion of the service waits here, then sees the first.
    service = Service.objects.select_for_update().get(pk=release.service_id)
    release = Release.objects.select_for_update(of=("self",)).select_related("service").get(pk=release.pk)
    _refuse_if_busy(service, environment)
    decision = gates.evaluate(release, environment)
    if decision.decision != "allow":
        raise ValidationError(f"the {environment.slug} gate says {decision.decision}: " + "; ".join(decision.reasons()))
    previous = queries.live_release(service)
    transition(release, S.PROMOTING, actor=actor, reason=reason)
    deployment = Deployment(
        service=service, release=release, environment=environment, kind=Deployment.Kind.PROMOTION, status=D.PENDING,
        provider=service.deploy_provider, provider_ref=queries.provider_ref_for(release), replaces=previous,
        requested_by=actor, reason=reason, gate=decision.to_dict(),
    )
    deployment.stamp(actor=actor, reason=reason)
    deployment.save()
    _enqueue(deployment)
    return deployment


@transaction.atomic
def start_rollback(*, service: Service, actor: Any, reason: str, target: Release | None = None) -> Deployment:
    """Put an earlier live release back (default: the one live before the current one) through the provider."""
    reason = require_reason(reason)
    _require_release_manager(actor, "roll back releases")
    environment = queries.production_environment()
    if environment is None:
        raise ValidationError("there is no production environment")
    service = Service.objects.select_for_update().get(pk=service.pk)
    current = queries.live_release(service)
    if current is None:
        raise ValidationError(f"no release of {service.slug} is live; there is nothing to roll back")
    _refuse_if_busy(service, environment)
    candidates = list(queries.rollback_candidates(service))
    if target is None:
        if not candidates:
            raise ValidationError(f"{service.slug} has no earlier live release to roll back to")
        target = candidates[0]
    elif target.pk not in {c.pk for c in candidates}:
        names = ", ".join(c.version for c in candidates) or "none"
        raise ValidationError(f"{target} is not an earlier live release of {service.slug} (candidates: {names})")
    target = Release.objects.select_for_update(of=("self",)).select_related("service").get(pk=target.pk)
    transition(target, S.PROMOTING, actor=actor, reason=reason)
    deployment = Deployment(
        service=service, release=target, environment=environment, kind=Deployment.Kind.ROLLBACK, status=D.PENDING,
        provider=service.deploy_provider, provider_ref=queries.provider_ref_for(target), replaces=current,
        requested_by=actor, reason=reason,
    )
    deployment.stamp(actor=actor, reason=reason)
    deployment.save()
    _enqueue(deployment)
    return deployment


def _request(deployment: Deployment) -> providers.DeployRequest:
    def describe(release: Release | None) -> dict[str, Any] | None:
        if release is None:
            return None
        return {"id": release.pk, "version": release.version, "tag": release.tag, "build_sha": release.build_sha}

    return providers.DeployRequest(
        action="promote" if deployment.kind == Deployment.Kind.PROMOTION else "rollback",
        deployment_id=deployment.pk, service=deployment.service.slug, environment=deployment.environment.slug,
        release=describe(deployment.release) or {}, previous=describe(deployment.replaces),
        requested_by=deployment.requested_by.get_username() if deployment.requested_by else "",
        reason=deployment.reason, provider_ref=deployment.provider_ref,
    )


def execute_deployment(*, deployment_id: int, actor: Any) -> Deployment:
    """Run a pending promotion or rollback through its provider (outside any transaction) and record the outcome."""
    with transaction.atomic():
        deployment = (Deployment.objects.select_for_update(of=("self",))
                      .select_related("service", "release", "replaces", "environment", "requested_by")
                      .get(pk=deployment_id))
        if deployment.status not in Deployment.ACTIVE:
            return deployment  # already finished: a re-run of the task does nothing
        if deployment.status == D.PENDING:
            deployment.status = D.RUNNING
            deployment.started_at = timezone.now()
            deployment.stamp(actor=actor, reason=f"task: run {deployment.kind} #{deployment.pk}")
            deployment.save(update_fields=["status", "started_at"])
    try:
        provider = providers.get_provider(deployment.provider, deployment.service.deploy_settings,
                                          transport=providers.TRANSPORT, sleep=providers.SLEEP)
        result = provider.run(_request(deployment))
    except providers.ProviderConfigError as exc:
        result = providers.ProviderResult(ok=False, error=f"provider settings: {exc}")
    except Exception as exc:  # noqa: BLE001 - an adapter bug must end as a failed deployment, not a stuck one
        logger.exception("deploy provider %s failed on deployment %s", deployment.provider, deployment.pk)
        result = providers.ProviderResult(ok=False, error=f"{exc.__class__.__name__}: {exc}")
    return complete_deployment(deployment=deployment, result=result, actor=actor,
                               reason=f"task: {deployment.kind} #{deployment.pk} ({deployment.provider})")


@transaction.atomic
def complete_deployment(*, deployment: Deployment, result: providers.ProviderResult, actor: Any,
                        reason: str) -> Deployment:
    """Record the provider's outcome and move the releases: live / superseded / rolled back / failed."""
    reason = require_reason(reason)
    Service.objects.select_for_update().get(pk=deployment.service_id)
    deployment = (Deployment.objects.select_for_update(of=("self",))
                  .select_related("service", "release", "replaces", "environment").get(pk=deployment.pk))
    if deployment.status not in Deployment.ACTIVE:
        return deployment
    release = Release.objects.select_for_update(of=("self",)).select_related("service").get(pk=deployment.release_id)
    why = f"{reason}: {deployment.reason}"
    deployment.details = json.loads(json.dumps(result.details, default=str))
    deployment.provider_ref = result.provider_ref or deployment.provider_ref
    deployment.url = result.url or deployment.url
    if result.ok:
        deployment.release = release
        return go_live(deployment=deployment, actor=actor, reason=why)
    deployment.status = D.FAILED
    deployment.error = result.error[:5000]
    failed_state = S.SUPERSEDED if deployment.kind == Deployment.Kind.ROLLBACK else S.FAILED
    transition(release, failed_state, actor=actor, reason=f"{why} — {result.error[:300]}")
    deployment.finished_at = timezone.now()
    deployment.stamp(actor=actor, reason=reason)
    deployment.save(update_fields=["status", "error", "finished_at", "details", "provider_ref", "url"])
    return deployment


@transaction.atomic
def post_summary_to_pr(*, release: Release, actor: Any, reason: str) -> str:
    """Post the deploy summary on the release's GitHub pull request; returns the comment URL."""
    reason = require_reason(reason)
    release = Release.objects.select_for_update(of=("self",)).select_related("service").get(pk=release.pk)
    if not release.pr_url:
        raise ValidationError(f"{release} has no pull request link")
    try:
        url = github.post_pr_comment(pr_url=release.pr_url, body=summary.render(release),
                                     token=os.environ.get("GITHUB_TOKEN", ""), api_url=settings.GITHUB_API_URL)
    except github.GitHubError as exc:
        raise ValidationError(str(exc)) from None
    release.pr_comment_url = url
    release.stamp(actor=actor, reason=reason)
    release.save(update_fields=["pr_comment_url"])
    return url


def alert_stuck_promotions(*, older_than: timedelta | None = None) -> list[ReleaseAlert]:
    """One alert row (and a log line, and a webhook when configured) per release stuck in `promoting`."""
    older_than = older_than or timedelta(minutes=settings.RELEASES_PROMOTION_STUCK_MINUTES)
    created = []
    for release in queries.stuck_promotions(older_than=older_than):
        minutes = int((timezone.now() - release.state_changed_at).total_seconds() // 60)
        message = (f"{release} has been promoting for {minutes} min (threshold "
                   f"{int(older_than.total_seconds() // 60)} min): check the deploy provider and the task queue")
        alert, new = ReleaseAlert.objects.get_or_create(
            release=release, kind="stuck-promotion", since=release.state_changed_at, defaults={"message": message})
        if not new:
            continue
        logger.warning("release alert: %s", message)
        if _notify(alert):
            alert.notified = True
            alert.save(update_fields=["notified"])
        created.append(alert)
    return created


def _notify(alert: ReleaseAlert) -> bool:
    """Through the portal's one routing path (governance.notifications: channels by severity, deliveries recorded;
    RELEASES_ALERT_WEBHOOK_URL still works as an implicit channel, deprecated). True when a channel took it."""
    from governance.notifications import notify, routing

    release = alert.release
    message = notify.Message(
        severity=notify.Severity.WARNING, title=f"Release alert ({alert.kind}): {release.service.slug} {release.version}",
        text=alert.message, source=routing.RELEASES_SOURCE, event="release.alert",
        dedup_key=f"release-alert:{alert.pk}",
        fields={"kind": alert.kind, "service": release.service.slug, "version": release.version,
                "since": alert.since.isoformat()})
    return any(d.delivered for d in routing.send_alert(message, service_id=release.service_id))
