"""/healthz (process up) and /readyz (database, migrations, scheduler heartbeat)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> tuple[bool, str]:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "reachable"
    except Exception as exc:  # any driver error means "not ready"; the message says which
        return False, f"unreachable: {exc.__class__.__name__}"


def _check_migrations() -> tuple[bool, str]:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return (not plan), ("applied" if not plan else f"{len(plan)} unapplied")


def _check_scheduler() -> tuple[bool | None, str]:
    """None while starting: the worker has never beaten (a fresh install), which is not an error."""
    from governance.models import Heartbeat

    beat = Heartbeat.objects.filter(name="scheduler").first()
    if beat is None:
        return None, "starting: no heartbeat yet (the worker beats within a minute of starting)"
    age = timezone.now() - beat.beat_at
    limit = timedelta(seconds=settings.HEARTBEAT_MAX_AGE_SECONDS)
    return age <= limit, f"last beat {int(age.total_seconds())}s ago (limit {int(limit.total_seconds())}s)"


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, object]] = {}
    ok, detail = _check_database()
    checks["database"] = {"ok": ok, "detail": detail}
    starting = False
    if ok:
        migrated, detail = _check_migrations()
        checks["migrations"] = {"ok": migrated, "detail": detail}
        beating, detail = _check_scheduler()
        starting = beating is None
        checks["scheduler"] = {"ok": bool(beating), "detail": detail}
    ready = all(c["ok"] for c in checks.values()) and len(checks) == 3
    if ready:
        return JsonResponse({"status": "ready", "checks": checks})
    failed = [name for name, check in checks.items() if not check["ok"]]
    status = "starting" if starting and failed == ["scheduler"] else "not ready"
    response = JsonResponse({"status": status, "checks": checks}, status=503)
    if status == "starting":
        # A load balancer polls this before the first heartbeat: expected, so Django must not log it as an error.
        response._has_been_logged = True  # type: ignore[attr-defined]  # django.utils.log.log_response's own marker
    return response
