"""Release gate input "schema-plans": a release that ships contract migrations needs their plans verified.

Reads only `release.artifacts["migrations"]` (the shape `manage.py lint_migrations --format json` and
`govctl migrations lint --format json` print under "migrations") and `release.service_id`.
"""

from __future__ import annotations

from typing import Any

from governance.hooks import GateInput
from schemaplans.models import SchemaPlan

NAME = "schema-plans"
DONE = {SchemaPlan.Status.VERIFIED, SchemaPlan.Status.CONTRACTED}


def _block(code: str, message: str, **details: Any) -> GateInput:
    return GateInput(name=NAME, verdict="block", code=code, message=message, details=details)


def schema_plans_gate(*, release: Any, environment: Any) -> GateInput:
    artifacts = getattr(release, "artifacts", None) or {}
    migrations = artifacts.get("migrations", []) if isinstance(artifacts, dict) else None
    if not isinstance(migrations, list) or not all(isinstance(m, dict) for m in migrations):
        return _block("invalid_migrations_artifact",
                      'artifacts["migrations"] must be a list of {"name", "phase", "plan"} objects')
    contract = [m for m in migrations if str(m.get("phase", "")).lower() == "contract"]
    if not contract:
        return GateInput(name=NAME, verdict="allow", code="no_contract_migrations",
                         message="The release ships no contract migrations.",
                         details={"migrations": len(migrations)})
    unnamed = [str(m.get("name", "?")) for m in contract if not m.get("plan")]
    if unnamed:
        return _block("contract_migration_without_plan",
                      f"Contract migration(s) without a schema plan: {', '.join(unnamed)}.", migrations=unnamed)
    wanted = {str(m["plan"]) for m in contract}
    plans = {p.slug: p for p in SchemaPlan.objects.filter(slug__in=wanted)}
    statuses = {slug: (plans[slug].status if slug in plans else None) for slug in sorted(wanted)}
    missing = [slug for slug, status in statuses.items() if status is None]
    if missing:
        return _block("unknown_schema_plan", f"No schema plan named {', '.join(missing)}.", plans=statuses)
    foreign = [slug for slug, plan in plans.items() if plan.service_id != getattr(release, "service_id", None)]
    if foreign:
        return _block("schema_plan_of_another_service",
                      f"Schema plan(s) {', '.join(sorted(foreign))} belong to another service.", plans=statuses)
    pending = [slug for slug, status in statuses.items() if status not in DONE]
    if pending:
        described = ", ".join(f"{slug} ({statuses[slug]})" for slug in pending)
        return _block("schema_plan_not_verified",
                      f"Contract migrations need their schema plan verified first: {described}.", plans=statuses)
    return GateInput(name=NAME, verdict="allow", code="schema_plans_verified",
                     message=f"Every contract migration's plan is verified: {', '.join(sorted(wanted))}.",
                     details={"plans": statuses})
