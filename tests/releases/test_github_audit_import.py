"""GitHub's organisation audit log in the audit trail: imported once, resumable, rate-limit aware, read-only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone
from govctl.cli import main as govctl_main

from governance import audit_exports
from governance import services as core
from governance.models import AuditEvent, Source
from releases import github, github_audit, tasks
from releases.models import GitHubAuditCursor, GitHubAuditImport, GitHubAuditRecord
from tests.governance.audit_files import write_keys

from .github_fake import FakeGitHub, page, refused, shape

LOG = "/orgs/acme/audit-log"
PAGE1, PAGE2 = shape("audit_log_page1.json"), shape("audit_log_page2.json")
RELEVANT_1 = {"protected_branch.update", "team.add_member", "repo.create_actions_secret"}  # org.update_member: not
RELEVANT_2 = {"deploy_key.create", "workflows.completed_workflow_run", "repository_ruleset.destroy"}  # repo.destroy: not


@pytest.fixture
def fake(monkeypatch, settings):
    gh = FakeGitHub()
    monkeypatch.setattr(github, "TRANSPORT", gh.transport)
    waits: list[float] = []
    monkeypatch.setattr(github, "SLEEP", waits.append)
    gh.waits = waits  # type: ignore[attr-defined]
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-test")
    settings.GITHUB_ORG = "acme"
    return gh


@pytest.fixture
def shop(service, system_user):
    service.repository_url = "https://github.com/acme/shop"
    core.save_audited(instance=service, actor=system_user, reason="test: link the repository",
                      update_fields=["repository_url"])
    return service


def _github_events():
    return AuditEvent.objects.filter(source=Source.GITHUB).order_by("id")


@pytest.mark.django_db
def test_import__the_events_that_matter_enter_the_timeline_beside_the_portals_own(fake, shop):
    fake.on(LOG, page(PAGE1, next_after="Y3Vyc29yLTE"), page(PAGE2))

    run = github_audit.import_audit_log(reason="test import")

    assert run is not None
    assert run.status == "succeeded", run.error
    assert (run.pages, run.fetched, run.imported, run.ignored) == (2, 8, 6, 2)
    events = list(_github_events())
    assert {e.changes[1 + sorted(p).index("action")]["new"] for e, p in
            zip(events, [*PAGE1, *PAGE2], strict=False)} <= RELEVANT_1 | RELEVANT_2
    assert set(GitHubAuditRecord.objects.values_list("action", flat=True)) == RELEVANT_1 | RELEVANT_2
    protected = AuditEvent.objects.get(model="github.protected_branch")
    assert protected.actor_name == "github:mallory" and protected.service_id == shop.pk
    assert protected.object_repr == "acme/shop: protected_branch.update (main)"
    assert {"field": "occurred_at", "old": None, "new": "2025-12-05T07:00:00+00:00"} in protected.changes
    assert {"field": "allow_force_pushes_enforcement_level", "old": None, "new": "everyone"} in protected.changes
    assert AuditEvent.objects.get(model="github.deploy_key").change == "+"
    assert AuditEvent.objects.get(model="github.repository_ruleset").change == "-"
    assert AuditEvent.objects.get(model="github.repository_ruleset").service_id is None  # acme/other: no service
    # Asked oldest first, with the filters GitHub documents; the second page with the Link header's cursor.
    first, second = fake.params(LOG)
    assert first["order"] == "asc" and first["include"] == "web" and first["phrase"].startswith("created:>=")
    assert "after" not in first and second["after"] == "Y3Vyc29yLTE"
    assert fake.requests[0].headers["Authorization"] == "Bearer ghp-test"


@pytest.mark.django_db
def test_import__twice_adds_nothing_and_resumes_from_the_stored_cursor(fake, shop):
    fake.on(LOG, page(PAGE1, next_after="Y3Vyc29yLTE"), page(PAGE2))
    github_audit.import_audit_log(reason="test import")
    before = _github_events().count()

    again = github_audit.import_audit_log(reason="test import")

    assert again is not None and again.status == "succeeded"
    assert (again.imported, again.duplicates) == (0, 3)
    assert _github_events().count() == before == 6
    assert fake.params(LOG)[-1]["after"] == "Y3Vyc29yLTE"  # the last page again, from its stored cursor
    assert "phrase" not in fake.params(LOG)[-1]  # resumed: no backfill window
    assert GitHubAuditCursor.objects.get(org="acme").cursor == "Y3Vyc29yLTE"


@pytest.mark.django_db
def test_rate_limit__stops_keeps_the_cursor_waits_for_the_reset_then_resumes(fake, shop):
    reset = int((timezone.now() + timedelta(minutes=40)).timestamp())
    limited = refused(403, "API rate limit exceeded for user ID 1.", **{
        "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    fake.on(LOG, page(PAGE1, next_after="Y3Vyc29yLTE"), limited)

    run = github_audit.import_audit_log(reason="test import")

    assert run is not None and run.status == "rate_limited"
    assert run.imported == 3 and "X-RateLimit-Remaining 0" in run.error
    assert run.resume_after is not None and abs(run.resume_after.timestamp() - reset) < 5
    assert fake.waits == []  # 40 minutes is past GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS: stop, never spin
    requests = len(fake.requests)

    skipped = github_audit.import_audit_log(reason="test import")  # the schedule's next run, before the reset
    assert skipped is not None and skipped.status == "skipped" and "rate limit" in skipped.error
    assert len(fake.requests) == requests  # not even one request

    GitHubAuditCursor.objects.filter(org="acme").update(resume_after=timezone.now() - timedelta(seconds=1))
    fake.on(LOG, page(PAGE2))
    resumed = github_audit.import_audit_log(reason="test import")
    assert resumed is not None and resumed.status == "succeeded" and resumed.imported == 3
    assert fake.params(LOG)[-1]["after"] == "Y3Vyc29yLTE"
    assert _github_events().count() == 6


@pytest.mark.django_db
def test_secondary_rate_limit__waits_retry_after_once_then_goes_on(fake, shop):
    fake.on(LOG, refused(403, "You have exceeded a secondary rate limit.", **{"Retry-After": "7"}), page(PAGE1))

    run = github_audit.import_audit_log(reason="test import")

    assert run is not None and run.status == "succeeded" and run.imported == 3
    assert fake.waits == [7.0] and run.waited_seconds == 7.0


@pytest.mark.django_db
def test_secondary_rate_limit__twice_in_a_row_stops_instead_of_looping(fake, shop):
    fake.on(LOG, refused(429, "You have exceeded a secondary rate limit.", **{"Retry-After": "5"}))

    run = github_audit.import_audit_log(reason="test import")

    assert run is not None and run.status == "rate_limited" and "secondary rate limit" in run.error
    assert len(fake.requests) == 2 and fake.waits == [5.0]


@pytest.mark.django_db
def test_few_requests_left__the_import_stops_before_using_them_up(fake, shop, settings):
    settings.GITHUB_RATE_LIMIT_MIN_REMAINING = 100
    fake.on(LOG, page(PAGE1, next_after="Y3Vyc29yLTE", remaining=99), page(PAGE2))

    run = github_audit.import_audit_log(reason="test import")

    assert run is not None and run.status == "rate_limited" and "only 99 GitHub requests left" in run.error
    assert run.imported == 0 and len(fake.requests) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "message"), [(403, "Resource not accessible by personal access token"),
                                                 (404, "Not Found")])
def test_token_without_the_scope__an_operator_readable_error_on_the_run(fake, shop, status, message):
    fake.on(LOG, refused(status, message, **{"X-OAuth-Scopes": "repo, read:org",
                                             "X-Accepted-OAuth-Scopes": "read:audit_log"}))

    run = github_audit.import_audit_log(reason="test import")

    assert run is not None and run.status == "failed"
    assert f"({status}: {message})" in run.error
    assert "read:audit_log" in run.error and "the token has scopes: repo, read:org" in run.error
    assert not _github_events().exists()


@pytest.mark.django_db
def test_no_token__the_run_says_so(fake, monkeypatch, shop):
    monkeypatch.delenv("GITHUB_TOKEN")
    run = github_audit.import_audit_log(reason="test import")
    assert run is not None and run.status == "failed" and "GITHUB_TOKEN is not set" in run.error
    assert fake.requests == []


@pytest.mark.django_db
def test_task__without_an_organisation_imports_nothing(fake, settings):
    settings.GITHUB_ORG = ""
    assert tasks.import_github_audit_log() == "GITHUB_ORG is not set: nothing to import"
    assert not GitHubAuditImport.objects.exists() and fake.requests == []


@pytest.mark.django_db
def test_export__the_hash_chain_covers_imported_events_and_govctl_audit_verify_passes(fake, shop, auditor,
                                                                                       system_user, tmp_path):
    shop.name = "Shop (renamed)"
    core.save_audited(instance=shop, actor=system_user, reason="a portal change first", update_fields=["name"])
    fake.on(LOG, page(PAGE1))
    github_audit.import_audit_log(reason="test import")
    keys = write_keys(tmp_path)

    for filters, github_records in (({}, 3), ({"source": "github"}, 3)):
        path = tmp_path / "audit.jsonl"
        selected = audit_exports.build_filters(source=filters.get("source", ""))
        lines = list(audit_exports.export_audit(actor=auditor, filters=selected))
        path.write_text("".join(lines))
        records = [json.loads(line) for line in lines[:-1]]
        assert [r["source"] for r in records].count("github") == github_records
        assert len(records) > github_records or filters
        assert govctl_main(["audit", "verify", str(path), "--public-key", str(keys)]) == 0

    # An imported event edited in the database afterwards breaks the chain.
    event = AuditEvent.objects.filter(source=Source.GITHUB).first()
    assert event is not None
    tampered = [json.loads(line) for line in lines]
    tampered[0]["actor"] = "github:someone-else"
    path.write_text("".join(json.dumps(t, sort_keys=True, separators=(",", ":")) + "\n" for t in tampered))
    assert govctl_main(["audit", "verify", str(path), "--public-key", str(keys)]) == 1


@pytest.mark.django_db
def test_timeline__imported_events_show_their_source_and_filter_by_it(fake, shop, client, auditor):
    fake.on(LOG, page(PAGE1))
    github_audit.import_audit_log(reason="test import")
    client.force_login(auditor)

    page_ = client.get(reverse("admin:governance_auditevent_changelist"), {"source__exact": "github"})

    assert page_.status_code == 200
    text = page_.content.decode()
    assert "github:mallory (github)" in text and "acme/shop: protected_branch.update (main)" in text
    assert "on GitHub: 2025-12-05T07:00:00+00:00" in text
    assert "github.protected_branch" in text  # the model filter offers the imported categories


@pytest.mark.django_db
def test_imported_events__can_never_be_edited_in_the_portal(fake, shop, client, make_user):
    fake.on(LOG, page(PAGE1))
    run = github_audit.import_audit_log(reason="test import")
    assert run is not None
    superuser = make_user("root", superuser=True)
    client.force_login(superuser)
    event = AuditEvent.objects.filter(source=Source.GITHUB).first()
    record = GitHubAuditRecord.objects.first()
    assert event is not None and record is not None
    for name, pk in (("governance_auditevent", event.pk), ("releases_githubauditrecord", record.pk),
                     ("releases_githubauditimport", run.pk)):
        change = reverse(f"admin:{name}_change", args=[pk])
        page_ = client.get(change)
        assert page_.status_code == 200 and 'name="_save"' not in page_.content.decode(), name
        assert client.post(change, {"reason": "edit it"}).status_code == 403, name
        assert client.post(reverse(f"admin:{name}_delete", args=[pk]), {"post": "yes"}).status_code == 403, name
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403, name
    assert AuditEvent.objects.filter(pk=event.pk).exists() and GitHubAuditRecord.objects.filter(pk=record.pk).exists()


def test_next_cursor__reads_the_link_header():
    header = ('<https://api.github.com/organizations/9001/audit-log?after=MS42ODk&before=>; rel="next", '
              '<https://api.github.com/organizations/9001/audit-log?after=&before=MS42OTA>; rel="prev"')
    assert github.next_cursor(header) == "MS42ODk"
    assert github.next_cursor('<https://x/audit-log?after=&before=Zm9v>; rel="prev"') is None
    assert github.next_cursor("") is None


def test_relevant_actions():
    assert all(github_audit.is_relevant(a) for a in (
        "protected_branch.create", "repository_ruleset.update", "repo.access", "repo.add_member", "team.remove_member",
        "public_key.create", "deploy_key.delete", "org.update_actions_secret", "repo.remove_actions_secret",
        "environment.create_actions_secret", "environment.update_protection_rule", "workflows.delete_workflow_run"))
    assert not any(github_audit.is_relevant(a) for a in ("repo.destroy", "org.update_member", "issue.create", ""))


def test_transport_error__is_a_github_error():
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route", request=request)

    client = github.GitHubClient(token="t", transport=httpx.MockTransport(broken))
    with pytest.raises(github.GitHubError, match="cannot reach GitHub: ConnectError"):
        next(client.audit_log_pages("acme"))


@pytest.mark.django_db
def test_evidence_section__external_events_holds_the_imported_events_of_the_range(fake, shop, other_service):
    from governance import hooks

    fake.on(LOG, page(PAGE1))
    github_audit.import_audit_log(reason="test import")
    section = hooks.EVIDENCE_SECTIONS["external-events"]
    start, end = datetime(2025, 12, 1, tzinfo=UTC), datetime(2025, 12, 6, tzinfo=UTC)

    files = section(start=start, end=end, service=None)

    events = json.loads(files["external-events/github-audit-log.json"])
    assert {e["action"] for e in events} == RELEVANT_1
    assert json.loads(files["external-events/github-imports.json"]) == []  # the run started now, outside the range
    assert "GitHub audit-log events imported: 3" in files["external-events/README.md"].decode()
    assert files["external-events/github-audit-log.json"].decode() == json.dumps(
        events, sort_keys=True, ensure_ascii=False, indent=2)  # canonical: sorted keys, UTF-8
    shop_only = json.loads(section(start=start, end=end, service=shop)["external-events/github-audit-log.json"])
    assert {e["repo"] for e in shop_only} == {"acme/shop"}
    assert json.loads(section(start=start, end=end, service=other_service)[
        "external-events/github-audit-log.json"]) == []


def test_schedules__import_and_review_are_scheduled():
    from governance import schedules

    by_name = {s["name"]: s for s in schedules.SCHEDULES}
    assert by_name["releases: import GitHub audit log"]["func"] == "releases.tasks.import_github_audit_log"
    assert by_name["releases: review branch protection"]["func"] == "releases.tasks.review_branch_protection"


@pytest.mark.django_db
def test_admin_home__a_failed_import_needs_attention(fake, shop, client, administrator):
    fake.on(LOG, refused(403, "Resource not accessible by personal access token"))
    github_audit.import_audit_log(reason="test import")
    client.force_login(administrator)
    home = client.get(reverse("admin:index")).content.decode()
    assert "GitHub audit-log import of acme failed" in home and "read:audit_log" in home
    fake.on(LOG, page(PAGE1))
    github_audit.import_audit_log(reason="test import")
    assert "GitHub audit-log import of acme failed" not in client.get(reverse("admin:index")).content.decode()
