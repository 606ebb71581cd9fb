"""Benchmark: importing GitHub's audit log into the timeline, against the bare inserts of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/github_audit_import.py [--pages 20]

Runs inside one transaction rolled back at the end (run `manage.py migrate` on the database first). GitHub is an
httpx.MockTransport answering pages of 100 relevant events (the shape of tests/data/github/), so the figures are
the portal's own cost per event: parsing, the duplicate check, the GitHubAuditRecord and AuditEvent rows, the
cursor and run updates per page.

- Import: `github_audit.import_audit_log` over N pages (first run: every event new).
- Re-import: the same pages again from the start (every event a duplicate: the idempotency check alone).
- Baselines: the same number of AuditEvent rows with the same values inserted one by one (`objects.create`,
  what a naive importer does) and in one multi-row insert per page (`bulk_create`: the least an import that
  keeps one timeline row per event must write; the import also writes one GitHubAuditRecord per event).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from governance.models import AuditEvent, Source  # noqa: E402
from releases import github, github_audit  # noqa: E402
from releases.models import GitHubAuditCursor  # noqa: E402

ACTIONS = ["protected_branch.update", "team.add_member", "repo.create_actions_secret", "deploy_key.create",
           "workflows.completed_workflow_run", "repository_ruleset.update", "repo.add_member"]


class Rollback(Exception):
    pass


def events(page: int, size: int) -> list[dict[str, Any]]:
    base = 1_764_918_000_000 + page * size * 1000
    return [{"@timestamp": base + i * 1000, "created_at": base + i * 1000, "_document_id": f"bench-{page}-{i}",
             "action": ACTIONS[i % len(ACTIONS)], "actor": f"user{i % 17}", "org": "acme", "repo": "acme/shop",
             "branch": "main", "operation_type": "modify", "user_agent": "Mozilla/5.0"} for i in range(size)]


def transport(pages: int, size: int) -> httpx.MockTransport:
    bodies = [events(p, size) for p in range(pages)]

    def handle(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        index = int(after) if after else 0
        headers = {"X-RateLimit-Remaining": "4999", "X-RateLimit-Reset": "1900000000"}
        if index + 1 < pages:
            headers["Link"] = f'<https://api.github.com/organizations/1/audit-log?after={index + 1}&before=>; rel="next"'
        return httpx.Response(200, json=bodies[index], headers=headers)

    return httpx.MockTransport(handle)


def config(pages: int) -> github_audit.ImportConfig:
    return github_audit.ImportConfig(org="acme", token="bench-not-a-secret",  # noqa: S106 - the fake GitHub's
                                     include="web", phrase="", backfill_days=30, max_pages=pages + 1,
                                     max_wait_seconds=0, min_remaining=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
    total = args.pages * args.size
    github.TRANSPORT = transport(args.pages, args.size)
    try:
        with transaction.atomic():
            began = time.perf_counter()
            run = github_audit.import_audit_log(reason="bench import", config=config(args.pages))
            imported = time.perf_counter() - began
            assert run is not None and run.imported == total, (run and (run.status, run.imported, run.error))
            GitHubAuditCursor.objects.filter(org="acme").update(cursor="")
            began = time.perf_counter()
            again = github_audit.import_audit_log(reason="bench import", config=config(args.pages))
            reimported = time.perf_counter() - began
            assert again is not None and again.duplicates == total and again.imported == 0
            now = timezone.now()
            began = time.perf_counter()
            for page in range(args.pages):
                for event in events(page, args.size):
                    AuditEvent.objects.create(
                        at=now, actor=None, actor_name=f"github:{event['actor']}", model="github.bench",
                        object_id=event["_document_id"], object_repr=f"acme/shop: {event['action']}", change="~",
                        reason="bench baseline", source=Source.GITHUB,
                        changes=[{"field": k, "old": None, "new": v} for k, v in sorted(event.items())])
            baseline = time.perf_counter() - began
            began = time.perf_counter()
            for page in range(args.pages):
                AuditEvent.objects.bulk_create([AuditEvent(
                    at=now, actor=None, actor_name=f"github:{event['actor']}", model="github.bench2",
                    object_id=event["_document_id"], object_repr=f"acme/shop: {event['action']}", change="~",
                    reason="bench baseline", source=Source.GITHUB,
                    changes=[{"field": k, "old": None, "new": v} for k, v in sorted(event.items())])
                    for event in events(page, args.size)])
            bulk = time.perf_counter() - began
            raise Rollback
    except Rollback:
        pass
    print(f"events: {total} ({args.pages} pages of {args.size})")
    print(f"import (all new):       {imported:7.3f} s  {total / imported:8.0f} events/s")
    print(f"re-import (duplicates): {reimported:7.3f} s  {total / reimported:8.0f} events/s")
    print(f"baseline (bare AuditEvent inserts): {baseline:7.3f} s  {total / baseline:8.0f} rows/s")
    print(f"baseline (AuditEvent bulk inserts, one per page): {bulk:7.3f} s  {total / bulk:8.0f} rows/s")
    print(f"ratio import / one-by-one baseline: {imported / baseline:.2f}x; import / bulk baseline: "
          f"{imported / bulk:.2f}x; re-import / import: {reimported / imported:.2f}x")


if __name__ == "__main__":
    main()
