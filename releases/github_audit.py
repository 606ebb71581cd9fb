"""Import GitHub's organisation audit log into the audit timeline (docs/AUDIT.md § Sources).

The events that matter for releases (branch protection and rulesets, repository access and teams, deploy and
SSH keys, secrets and environments, workflows) become `AuditEvent` rows with source `github`, beside the portal's
own changes and inside the hash-chained export. Each page commits on its own with the cursor it reached
(`GitHubAuditCursor`), so a run stopped by a rate limit, an error or a crash resumes where it stopped; an event
already imported (same `_document_id`) is skipped. A rate limit longer than GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS
stops the run and the next scheduled one waits until GitHub's reset.

Imported events take the time the portal recorded them as their `at` (the trail is append-only in that order, so
signed checkpoints keep verifying); GitHub's own time is the `occurred_at` row of their diff.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance.locks import advisory_lock
from governance.models import AuditEvent, Environment, Service, Source
from releases import github
from releases.models import GitHubAuditCursor, GitHubAuditImport, GitHubAuditRecord

S = GitHubAuditImport.Status
# Action prefixes (and exact actions) that matter for releases; every other action is counted as ignored.
RELEVANT_PREFIXES = ("protected_branch.", "repository_ruleset.", "team.", "public_key.", "deploy_key.",
                     "environment.", "workflows.")
RELEVANT_ACTIONS = {"repo.access", "repo.add_member", "repo.remove_member", "repo.update_member"}
SECRET_ACTION = re.compile(r"^(org|repo|environment)\.(create|update|remove|delete)_\w*secret\w*$")
CREATED_WORDS = ("create", "add", "enable")
DELETED_WORDS = ("destroy", "delete", "remove", "disable")


def is_relevant(action: str) -> bool:
    return action.startswith(RELEVANT_PREFIXES) or action in RELEVANT_ACTIONS or bool(SECRET_ACTION.match(action))


def change_kind(action: str) -> str:
    verb = action.rpartition(".")[2]
    if verb.startswith(CREATED_WORDS):
        return AuditEvent.Change.CREATED
    if verb.startswith(DELETED_WORDS):
        return AuditEvent.Change.DELETED
    return AuditEvent.Change.CHANGED


def occurred_at(event: dict[str, Any]) -> datetime | None:
    """GitHub's `@timestamp` (milliseconds since the epoch), else `created_at`."""
    stamp = event.get("@timestamp", event.get("created_at"))
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(stamp / 1000, tz=UTC)
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class ImportConfig:
    org: str
    token: str
    include: str
    phrase: str
    backfill_days: int
    max_pages: int
    max_wait_seconds: float
    min_remaining: int

    @classmethod
    def from_settings(cls) -> ImportConfig:
        return cls(org=settings.GITHUB_ORG, token=os.environ.get("GITHUB_TOKEN", ""),
                   include=settings.GITHUB_AUDIT_LOG_INCLUDE, phrase=settings.GITHUB_AUDIT_LOG_PHRASE,
                   backfill_days=settings.GITHUB_AUDIT_LOG_BACKFILL_DAYS,
                   max_pages=settings.GITHUB_AUDIT_LOG_MAX_PAGES,
                   max_wait_seconds=settings.GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS,
                   min_remaining=settings.GITHUB_RATE_LIMIT_MIN_REMAINING)


def import_audit_log(*, reason: str, config: ImportConfig | None = None,
                     now: datetime | None = None) -> GitHubAuditImport | None:
    """One import run (resumed from the stored cursor). None when no organisation is configured."""
    config = config or ImportConfig.from_settings()
    if not config.org:
        return None
    # Session-scoped: the run commits page by page; a second run of the same organisation is skipped.
    with advisory_lock(f"releases:github-audit:{config.org}", wait=False, scope="session") as held:
        if not held:
            return _finish(GitHubAuditImport.objects.create(org=config.org), S.SKIPPED,
                           "another import of this organisation is running")
        return _run(config, reason=reason, now=now or timezone.now())


def _run(config: ImportConfig, *, reason: str, now: datetime) -> GitHubAuditImport:
    cursor, _ = GitHubAuditCursor.objects.get_or_create(org=config.org)
    run = GitHubAuditImport.objects.create(org=config.org, started_at=now, started_cursor=cursor.cursor)
    if cursor.resume_after and cursor.resume_after > now:
        run.resume_after = cursor.resume_after
        return _finish(run, S.SKIPPED, f"waiting for GitHub's rate limit to reset at {cursor.resume_after:%H:%M:%S} UTC")
    client: github.GitHubClient | None = None
    try:
        client = github.GitHubClient(token=config.token, api_url=settings.GITHUB_API_URL,
                                     max_wait_seconds=config.max_wait_seconds, min_remaining=config.min_remaining)
        phrase = config.phrase
        if not cursor.cursor:  # the first run (or after a reset): only the recent past
            since = (now - timedelta(days=config.backfill_days)).date().isoformat()
            phrase = f"{phrase} created:>={since}".strip()
        services = _services_by_repo()
        environments = dict(Environment.objects.values_list("slug", "pk"))
        pages = client.audit_log_pages(config.org, phrase=phrase, include=config.include,
                                       cursor=cursor.cursor or None, max_pages=config.max_pages)
        for page in pages:
            _store_page(run, cursor, page, services=services, environments=environments, reason=reason)
    except github.RateLimited as exc:
        run.resume_after = exc.until
        cursor.resume_after = exc.until
        cursor.save(update_fields=["resume_after"])
        return _finish(run, S.RATE_LIMITED, str(exc), client)
    except github.GitHubError as exc:
        return _finish(run, S.FAILED, str(exc), client)
    if cursor.resume_after:
        cursor.resume_after = None
        cursor.save(update_fields=["resume_after"])
    return _finish(run, S.SUCCEEDED, "", client)


@transaction.atomic
def _store_page(run: GitHubAuditImport, cursor: GitHubAuditCursor, page: github.AuditPage, *,
                services: dict[str, int], environments: dict[str, int], reason: str) -> None:
    """One page's new events, the run's counts and the cursor, in one transaction."""
    ids = [str(e.get("_document_id", "")) for e in page.events]
    known = set(GitHubAuditRecord.objects.filter(document_id__in=[i for i in ids if i])
                .values_list("document_id", flat=True))
    recorded_at = timezone.now()
    new: list[GitHubAuditRecord] = []
    for event, document_id in zip(page.events, ids, strict=True):
        action = str(event.get("action", ""))
        if not document_id or not is_relevant(action):
            run.ignored += 1
            continue
        if document_id in known:
            run.duplicates += 1
            continue
        known.add(document_id)
        new.append(_record(event, document_id, action, run))
    # Two multi-row inserts per page (timeline rows, then the records pointing at them): PostgreSQL returns the ids.
    timeline = AuditEvent.objects.bulk_create([
        _timeline_event(record, recorded_at=recorded_at, services=services, environments=environments,
                        reason=f"{reason} (import #{run.pk})") for record in new])
    for record, audit_event in zip(new, timeline, strict=True):
        record.audit_event = audit_event
    GitHubAuditRecord.objects.bulk_create(new)
    run.imported += len(new)
    run.pages += 1
    run.fetched += len(page.events)
    # At the end of the log there is no next cursor: keep the one this page came from, so the next run reads
    # it again (its events are skipped as duplicates) and then whatever followed.
    cursor.cursor = page.next_cursor or page.cursor or cursor.cursor
    cursor.updated_at = recorded_at
    cursor.save(update_fields=["cursor", "updated_at"])
    run.ended_cursor = cursor.cursor
    run.save()


def _record(event: dict[str, Any], document_id: str, action: str, run: GitHubAuditImport) -> GitHubAuditRecord:
    return GitHubAuditRecord(document_id=document_id[:64], org=str(event.get("org", run.org))[:100],
                             action=action[:100], actor=str(event.get("actor") or "")[:150],
                             repo=str(event.get("repo") or event.get("repository") or "")[:200],
                             occurred_at=occurred_at(event), payload=event, run=run)


def _timeline_event(record: GitHubAuditRecord, *, recorded_at: datetime, services: dict[str, int],
                    environments: dict[str, int], reason: str) -> AuditEvent:
    """The timeline row of an imported event (unsaved)."""
    payload = record.payload
    category = record.action.partition(".")[0]
    target = payload.get("branch") or payload.get("name") or payload.get("team") or payload.get("user") or ""
    where = record.repo or record.org
    changes: list[dict[str, Any]] = [
        {"field": "occurred_at", "old": None, "new": record.occurred_at.isoformat() if record.occurred_at else None},
        *({"field": key, "old": None, "new": value} for key, value in sorted(payload.items())),
    ]
    environment = payload.get("environment_name") or payload.get("environment")
    return AuditEvent(
        at=recorded_at, actor=None, actor_name=f"github:{record.actor or '?'}"[:150], model=f"github.{category}"[:100],
        object_id=record.document_id, object_repr=f"{where}: {record.action}{f' ({target})' if target else ''}"[:300],
        change=change_kind(record.action), reason=reason, source=Source.GITHUB,
        service_id=services.get(record.repo.lower()) if record.repo else None,
        environment_id=environments.get(environment) if isinstance(environment, str) else None,
        changes=changes, history_id=None)


def _services_by_repo() -> dict[str, int]:
    """"owner/repo" (lower case) → service id, from each service's repository URL."""
    found: dict[str, int] = {}
    for pk, url in Service.objects.values_list("pk", "repository_url"):
        parsed = github.parse_repo_url(url)
        if parsed:
            found[f"{parsed[0]}/{parsed[1]}".lower()] = pk
    return found


def _finish(run: GitHubAuditImport, status: str, error: str,
            client: github.GitHubClient | None = None) -> GitHubAuditImport:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    if client is not None:
        run.waited_seconds = sum(client.waited)
    run.save()
    return run
