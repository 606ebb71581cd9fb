"""Demo data for `make run` (manage.py seed_demo): enough rows that every screen has something true to show.

Every part is idempotent: it looks for its own rows first (by natural key) and only adds what is missing, so
`make run` may call it every time. Everything is written through the apps' services, as the system user or
the demo users, with a reason naming seed_demo; nothing here is a shortcut around a rule.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from governance import roles, services, services_users
from governance.models import Environment, Service

REASON = "demo data (manage.py seed_demo)"

# Two people per role (besides `admin`), so the two-person rules can be tried: one asks, the other approves.
DEMO_USERS: list[tuple[str, str]] = [
    ("olga", roles.OPERATOR), ("oscar", roles.OPERATOR),
    ("rita", roles.RELEASE_MANAGER), ("ralph", roles.RELEASE_MANAGER),
    ("audrey", roles.AUDITOR), ("arthur", roles.AUDITOR),
    ("mia", roles.MAINTENANCE_ADMIN), ("max", roles.MAINTENANCE_ADMIN),
    ("ada", roles.ADMINISTRATOR),  # with `admin`, the second Administrator
]


def users() -> list[tuple[str, str, str]]:
    """Create the missing demo users; returns (username, role, password) for those created (shown once)."""
    User = get_user_model()
    created = []
    for username, role in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            continue
        password = secrets.token_urlsafe(12)
        # Through the accounts service, so each demo account is in the audit trail like any other.
        services_users.create_user(username=username, password=password, is_staff=True, groups=[role],
                                   actor=services.system_user(), reason="seed_demo: demo account")
        created.append((username, role, password))
    return created


def _user(username: str) -> Any:
    return get_user_model().objects.get(username=username)


def flags(service: Service, actor: Any) -> list[str]:
    from flags import services as flag_services
    from flags.models import Flag, FlagState

    done = []
    if not Flag.objects.filter(service=service, key="new-checkout").exists():
        flag = flag_services.create_flag(service=service, key="new-checkout", actor=actor, reason=REASON,
                                         owner="checkout team", description="The one-page checkout",
                                         expected_lifetime_days=60)
        for env, percent in (("development", 100), ("preview", 50)):
            state = FlagState.objects.get(flag=flag, environment__slug=env)
            flag_services.set_strategies(state=state, actor=actor, reason=REASON, strategies=[{
                "name": "flexibleRollout",
                "parameters": {"rollout": str(percent), "stickiness": "userId", "groupId": "new-checkout"}}])
            flag_services.set_enabled(state=FlagState.objects.get(pk=state.pk), enabled=True, actor=actor,
                                      reason=REASON)
        # production: turning it on widens exposure, so a change request waits for a second operator (oscar)
        state = FlagState.objects.get(flag=flag, environment__slug="production")
        flag_services.set_strategies(state=state, actor=actor, reason=REASON, strategies=[{
            "name": "flexibleRollout",
            "parameters": {"rollout": "10", "stickiness": "userId", "groupId": "new-checkout"}}])
        flag_services.set_enabled(state=FlagState.objects.get(pk=state.pk), enabled=True, actor=_user("olga"),
                                  reason="10% of users, as agreed in the launch review")
        done.append("flag new-checkout (50% in preview; a production rollout waiting for a second operator)")
    if not Flag.objects.filter(service=service, key="search-v2").exists():
        flag = flag_services.create_flag(service=service, key="search-v2", actor=actor, reason=REASON,
                                         owner="search team", description="New ranking",
                                         expected_lifetime_days=1)  # past its lifetime tomorrow: shows as stale
        state = FlagState.objects.get(flag=flag, environment__slug="development")
        flag_services.set_enabled(state=state, enabled=True, actor=actor, reason=REASON)
        done.append("flag search-v2")
    kill = FlagState.objects.get(flag__service=service, flag__key="kill_switch_api", environment__slug="preview")
    why = "demo: a load test is hammering preview"
    if not kill.history.filter(history_change_reason=why).exists():  # once: it expires on its own afterwards
        flag_services.engage_kill_switch(state=kill, actor=_user("olga"), reason=why, expires_in=timedelta(hours=4))
        done.append("kill switch kill_switch_api engaged in preview (expires in 4 h)")
    done += sdk_fleet(service)
    return done


def sdk_fleet(service: Service) -> list[str]:
    """Three SDK instances of the service in production, one a revision behind (telemetry screens, /metrics).

    Their heartbeats are as of seeding: after FLAGS_INSTANCE_WINDOW_MINUTES they count as gone, as real
    instances that stopped reporting would (running `seed_demo` again brings them back)."""
    from flags import queries as flag_queries
    from flags import services as flag_services

    production = Environment.objects.get(slug="production")
    current = flag_queries.current_revision(service=service, environment=production)
    for name, revision in (("shop-web-1", current), ("shop-web-2", current), ("shop-worker-1", max(current - 1, 0))):
        flag_services.record_sdk_heartbeat(instance_id=name, service=service, environment=production,
                                           revision=revision, sdk_version="govctl-sdk demo",
                                           capabilities=["chaos-http", "chaos-db"])
    return ["3 SDK instances reporting in production (shop-worker-1 one revision behind)"]


def releases(service: Service, actor: Any) -> list[str]:
    from releases import services as release_services
    from releases.models import GatePolicy, Release

    if Release.objects.filter(service=service).exists():
        return []
    production = Environment.objects.get(slug="production")
    preview = Environment.objects.get(slug="preview")
    if not GatePolicy.objects.filter(service=service, environment=production).exists():
        from governance import services as core

        policy = GatePolicy(service=service, environment=production, required_checks=["tests"],
                            advisory_checks=["lint"], approvals_required=1)
        core.save_audited(instance=policy, actor=actor, reason=REASON)
    now = timezone.now()

    def register(version: str, sha: str, message: str) -> Release:
        commits = [{"sha": sha * 40, "message": message, "author": "Dana <dana@example.com>",
                    "time": now - timedelta(days=3)}]
        return release_services.register_release(service=service, version=version, build_sha=sha * 40,
                                                 author="dana", commits=commits, actor=actor,
                                                 reason=REASON).release

    def check(release: Release, name: str, status: str, summary: str = "") -> None:
        release_services.report_check(release=release, name=name, status=status, actor=actor, reason=REASON,
                                      summary=summary)

    live = register("1.0.0", "a", "feat: carts")
    check(live, "tests", "success", "412 passed")
    release_services.approve_release(release=live, environment=production, actor=_user("ralph"), reason=REASON)
    release_services.record_deployment(release=live, environment=production, status="succeeded", actor=actor,
                                       reason=REASON)
    ready = register("1.1.0", "b", "feat(cart): save carts for later")
    check(ready, "tests", "success", "418 passed")
    check(ready, "lint", "failure", "2 style warnings (advisory)")
    release_services.record_deployment(release=ready, environment=preview, status="succeeded", actor=actor,
                                       reason=REASON)
    blocked = register("1.2.0", "c", "feat(payments): new provider")
    check(blocked, "tests", "success", "420 passed")
    check(blocked, "security-scan", "failure", "CVE-2026-1234 in payments-sdk 3.1 (high)")
    return ["releases 1.0.0 (live), 1.1.0 (awaiting approval, in preview), 1.2.0 (security-scan failed)"]


def sli(service: Service) -> list[str]:
    """The last 6 hours of per-minute SLI points for production, the last 70 minutes burning (20% errors)."""
    from observability import services as slo_services
    from observability import sli as sli_module

    production = Environment.objects.get(slug="production")
    end = timezone.now().replace(second=0, microsecond=0)
    points = []
    for m in range(1, 6 * 60 + 1):
        burning = m <= 70
        points.append(sli_module.Point(
            minute=end - timedelta(minutes=m), total=120, errors=24 if burning else 0,
            latency_bounds=(100.0, 300.0, 1000.0),
            latency_counts=(60, 100, 115) if burning else (100, 118, 120), db_queries=40,
            db_errors=4 if burning else 0))
    slo_services.ingest_sli_points(service=service, environment=production, source="demo", points=points)
    slo_services.run_slo_check(kind="hourly")
    return ["SLI points for the last 6 h in production (burning for the last 70 min) and an SLO check"]


def recovery(actor: Any) -> list[str]:
    from recovery import services as dr_services
    from recovery.models import BackupTarget

    target = BackupTarget.objects.filter(name="portal-db").first()
    done = []
    if target is None:
        target = dr_services.create_backup_target(
            name="portal-db", dsn_env="DATABASE_URL", directory=str(Path(settings.BASE_DIR) / ".demo-backups"),
            actor=actor, reason=REASON)
        done.append("backup target portal-db (this portal's own database)")
    if not target.drills.exists():
        dr_services.request_drill(target=target, kind="pitr", actor=actor, reason=REASON)
        done.append("a PITR drill (a mechanism self-test; the worker runs it)")
    return done


def schema_plan(service: Service, actor: Any) -> list[str]:
    from schemaplans import services as plan_services
    from schemaplans.models import SchemaPlan

    if SchemaPlan.objects.filter(slug="orders-status-code").exists():
        return []
    plan = plan_services.create_plan(
        service=service, slug="orders-status-code", table="orders", actor=actor, reason=REASON,
        description="Replace orders.status (text) by orders.status_code (smallint).", columns=["status_code"],
        expand_migration="shop.0042_order_status_code", contract_migration="shop.0045_drop_order_status",
        database="SHOP_DATABASE_URL",
        verification_sql="SELECT count(*) FROM orders WHERE status_code IS NULL")
    plan_services.create_backfill(
        name="fill orders.status_code", table="orders", plan=plan, database="SHOP_DATABASE_URL",
        sql="UPDATE orders SET status_code = 1 WHERE id >= %(lo)s AND id < %(hi)s AND status_code IS NULL",
        sql_is_idempotent=True, actor=actor, reason=REASON)
    return ["schema plan orders-status-code with a pending backfill"]


def load(service: Service, actor: Any) -> list[str]:
    """Everything but the users; returns what was added, one line each."""
    return [*flags(service, actor), *releases(service, actor), *sli(service), *recovery(actor),
            *schema_plan(service, actor), *status_page(service, actor), *access(service, actor),
            *supply_chain(service, actor),
            *chaos(service, actor)]


def access(service: Service, actor: Any) -> list[str]:
    """The secrets inventory (one of them overdue) and the portal database's access policy (db_roles' split)."""
    from access import services as access_services
    from access.models import AccessPolicy, Secret
    from access.portal_policy import portal_policy
    from recovery.models import BackupTarget

    done = []
    now = timezone.now()
    runbook = "docs/RUNBOOK.md § Rotating the portal's own secrets"
    entries = [
        (None, "SECRET_KEY", "env SECRET_KEY on web and worker hosts", "platform team", 30, 365, runbook),
        (None, "DATABASE_URL password", "env DATABASE_URL (role governance_app)", "platform team", 60, 180, runbook),
        (None, "AUDIT_SIGNING_KEY", "env AUDIT_SIGNING_KEY (Ed25519, PEM)", "security team", 100, 365,
         "docs/AUDIT.md § Key management"),
        (service, "STRIPE_API_KEY", f"vault kv/{service.slug}/stripe", "payments team", 120, 90,
         "https://runbooks.example/stripe-key-rotation"),
    ]
    for owner_service, name, location, owner, age_days, max_age, url in entries:
        if not Secret.objects.filter(service=owner_service, name=name).exists():
            access_services.create_secret(service=owner_service, name=name, location=location, owner=owner,
                                          last_rotated_at=now - timedelta(days=age_days), max_age_days=max_age,
                                          runbook_url=url, actor=actor, reason=REASON)
            done.append(f"secrets inventory: {name}" + (" (overdue)" if age_days > max_age else ""))
    target = BackupTarget.objects.filter(name="portal-db").first()
    if target is not None and not AccessPolicy.objects.filter(target=target).exists():
        access_services.create_access_policy(target=target, document=portal_policy(), actor=actor, reason=REASON)
        done.append("access policy of portal-db (governance_migrator owns, governance_app writes; history append-only)")
    return done


def chaos(service: Service, actor: Any) -> list[str]:
    """The built-in drills for the portal, a demo experiment for the service and one past run of it (executed
    for real, in this process: a harmless fault on a path nobody calls, held 0.2 s)."""
    from chaos import builtins, ctk, engine
    from chaos import services as chaos_services
    from chaos.models import Experiment
    from governance.models import Environment

    if Experiment.objects.filter(service=service, key="demo-api-errors").exists():
        return []
    portal = Service.objects.filter(slug=settings.FLAGS_PORTAL_SERVICE).first()
    if portal is not None:
        builtins.install(service=portal, actor=actor, reason=REASON)
    definition = {
        "title": "API errors on a path nobody calls: the SDK applies and drops the fault",
        "description": "Demo drill: a 503 fault scoped to /demo-chaos/, held briefly, rolled back.",
        "configuration": {"service": service.slug, "environment": "preview"},
        "steady-state-hypothesis": {"title": "at most one fault in force", "probes": [
            {"type": "probe", "name": "faults in force", "tolerance": {"type": "range", "range": [0, 1]},
             "provider": {"type": "python", "module": "govctl.chaos_actions", "func": "active_faults",
                          "arguments": {"service": "${service}", "environment": "${environment}"}}}]},
        "method": [ctk.fault_action(name="503 on /demo-chaos/", service=service.slug, environment="preview",
                                    kind="http_errors", params={"status": 503},
                                    scope={"share": 0.5, "paths": ["/demo-chaos/"], "header": None},
                                    ttl_seconds=60, reason="demo drill", pause_after=0.2)],
        "rollbacks": [ctk.halt_rollback(reason="demo drill rollback")],
    }
    experiment = chaos_services.save_experiment(service=service, key="demo-api-errors", definition=definition,
                                                actor=actor, reason=REASON)
    preview = Environment.objects.get(slug="preview")
    run = chaos_services.request_run(experiment=experiment, environment=preview, actor=actor, reason=REASON)
    engine.execute(run.pk, worker="seed_demo")
    run.refresh_from_db()
    return [f"chaos: the built-in drills for the portal, experiment demo-api-errors and its run #{run.pk} "
            f"({run.status})"]


def status_page(service: Service, actor: Any) -> list[str]:
    """Status components (one group), a resolved incident in the history and a scheduled maintenance."""
    from status import services as status_services
    from status.models import Component, ComponentGroup, Incident

    if Component.objects.filter(service=service).exists():
        return []  # idempotent: the status page was seeded before
    group = status_services.save_group(group=ComponentGroup(service=service, name="Backend", position=3),
                                       actor=actor, reason=REASON)
    api = status_services.save_component(component=Component(service=service, name="API", position=1),
                                         actor=actor, reason=REASON)
    status_services.save_component(component=Component(service=service, name="Web shop", position=2),
                                   actor=actor, reason=REASON)
    status_services.save_component(component=Component(service=service, name="Order processing", group=group),
                                   actor=actor, reason=REASON)
    status_services.save_component(component=Component(service=service, name="Internal tools", public=False),
                                   actor=actor, reason=REASON)
    if not Incident.objects.filter(service=service).exists():
        past = status_services.open_incident(service=service, name="Slow checkout", impact="minor",
                                             body="We are investigating slow checkouts.", components=[api],
                                             actor=actor, reason=REASON)
        status_services.post_update(incident=past, status="resolved", body="Checkout is fast again.", actor=actor,
                                    reason=REASON)
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        status_services.schedule_maintenance(service=service, name="Database upgrade", components=[api],
                                             body="PostgreSQL upgrade; the API may be read-only for a few minutes.",
                                             scheduled_for=start, scheduled_until=start + timedelta(hours=1),
                                             actor=actor, reason=REASON)
        _uptime_history(service, actor)
    return ["status page: 4 components (1 private, 1 grouped), a resolved incident, a scheduled maintenance, "
            "60 days of uptime history"]


def _uptime_history(service: Service, actor: Any) -> None:
    """60 finished days of the uptime bars (as the nightly roll-up stores them): one bad day, one day with a
    maintenance window declared beforehand; older days have no data (grey, never green)."""
    from datetime import UTC, datetime, time

    from status import services as status_services
    from status.models import UptimeDay

    today = timezone.now().astimezone(UTC).date()
    rows = []
    for n in range(1, 61):
        errors = 2_400 if n == 12 else (150 if n == 30 else 3)
        rows.append(UptimeDay(service=service, day=today - timedelta(days=n), good=172_800 - errors, total=172_800))
    UptimeDay.objects.bulk_create(rows, ignore_conflicts=True)
    start = datetime.combine(today - timedelta(days=20), time(2), tzinfo=UTC)
    window = status_services.schedule_maintenance(service=service, name="Storage migration", body="Planned.",
                                                  scheduled_for=start, scheduled_until=start + timedelta(hours=2),
                                                  actor=actor, reason=REASON)
    status_services.post_update(incident=window, status="completed", body="Done.", actor=actor, reason=REASON)


def supply_chain(service: Service, actor: Any) -> list[str]:
    """Two advisories, SBOMs on the live and the blocked release, their findings, an approved and a requested
    waiver (so every supply-chain screen has data)."""
    import json
    import tempfile
    from pathlib import Path

    from releases.models import Release
    from supplychain import services as supply
    from supplychain.models import Sbom

    if Sbom.objects.filter(release__service=service).exists():
        return []
    releases_by_version = {r.version: r for r in Release.objects.filter(service=service)}
    if "1.0.0" not in releases_by_version:
        return []
    records: list[dict[str, Any]] = [
        {"id": "GHSA-demo-pay1-sdk1", "modified": "2026-11-20T10:00:00Z", "published": "2026-11-20T10:00:00Z",
         "aliases": ["CVE-2026-1234"], "summary": "payments-sdk logs card numbers on retries",
         "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
         "affected": [{"package": {"ecosystem": "PyPI", "name": "payments-sdk"},
                       "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.0"}, {"fixed": "3.2"}]}]}]},
        {"id": "PYSEC-demo-reqs-0001", "modified": "2026-11-21T10:00:00Z", "published": "2026-11-21T10:00:00Z",
         "summary": "requests leaks Proxy-Authorization on redirects",
         "database_specific": {"severity": "MODERATE"},
         "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                       "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}]}]},
    ]
    with tempfile.TemporaryDirectory() as folder:
        for record in records:
            (Path(folder) / f"{record['id']}.json").write_text(json.dumps(record), encoding="utf-8")
        supply.import_advisories(source=folder, trigger="demo", alert=False)

    def bom(*purls: str) -> dict[str, Any]:
        return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [
            {"type": "library", "name": p.split("/")[1].split("@")[0], "version": p.split("@")[1], "purl": p}
            for p in purls]}

    for version, purls in (("1.0.0", ("pkg:pypi/payments-sdk@3.1", "pkg:pypi/requests@2.31.0",
                                      "pkg:pypi/django@5.2.1")),
                           ("1.2.0", ("pkg:pypi/payments-sdk@3.1", "pkg:pypi/requests@2.32.3",
                                      "pkg:pypi/django@5.2.1"))):
        if version in releases_by_version:
            supply.store_sbom(release=releases_by_version[version], document=bom(*purls), source=Sbom.Source.ATTACHED,
                              actor=actor, reason=REASON)
    waiver = supply.request_waiver(service=service, advisory_id="GHSA-demo-pay1-sdk1", package="pkg:pypi/payments-sdk",
                                   expires_at=timezone.now() + timedelta(days=14), actor=_user("rita"),
                                   reason="demo: card logging is off in our configuration; upgrade planned")
    supply.approve_waiver(waiver=waiver, actor=_user("ralph"), reason="demo: checked the configuration")
    supply.request_waiver(service=service, advisory_id="PYSEC-demo-reqs-0001", package="pkg:pypi/requests",
                          expires_at=timezone.now() + timedelta(days=7), actor=_user("rita"),
                          reason="demo: no proxies in production")
    return ["supply chain: 2 advisories, SBOMs on 1.0.0 and 1.2.0 with findings, an approved and a requested waiver"]
