"""Migration linter: online-safety rules and expand/migrate/contract phases for PostgreSQL migrations.

Pure (no Django, no network). SQL is parsed with PostgreSQL's own parser through pglast, imported only when
SQL is linted, so `schema_hash`, the rule catalogue and the annotations work without the `lint` extra.
The same entry point serves plain SQL files (`govctl migrations lint`) and Django migrations (their
`sqlmigrate` output plus the declared phase, passed in `LintOptions`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from govctl.migration_lint.annotations import EmcDeclaration, read_emc
from govctl.migration_lint.catalogue import (
    RULES,
    SQUAWK_EQUIVALENTS,
    SQUAWK_NOT_IMPLEMENTED,
    Phase,
    Rule,
    Severity,
    squawk_to_ours,
)
from govctl.migration_lint.findings import Finding, LintOptions, LintResult, Operation
from govctl.migration_lint.hashing import schema_hash

__all__ = [
    "RULES", "SQUAWK_EQUIVALENTS", "SQUAWK_NOT_IMPLEMENTED", "EmcDeclaration", "Finding", "LintOptions",
    "LintResult", "LintUnavailable", "Operation", "Phase", "Rule", "Severity", "check_phase", "infer_phase",
    "lint_sql", "read_emc", "schema_hash", "squawk_to_ours",
]  # fmt: skip

INSTALL_HINT = "the migration linter needs pglast: pip install 'govctl[lint]'"


class LintUnavailable(ImportError):
    """pglast is not installed."""


def _engine() -> ModuleType:
    try:
        from govctl.migration_lint import engine
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "pglast":
            raise LintUnavailable(INSTALL_HINT) from exc
        raise
    return engine


def _phase(value: Phase | str | None) -> Phase | None:
    if value is None or value == "":
        return None
    phase = Phase(str(value).lower())
    if phase is Phase.MIXED:
        raise ValueError("'mixed' is inferred, never declared: declare expand, contract or neutral")
    return phase


def lint_sql(
    sql: str,
    *,
    name: str = "<sql>",
    declared_phase: Phase | str | None = None,
    plan_id: str | None = None,
    new_tables: Iterable[str] = (),
    validated_not_null: Iterable[str] = (),
    in_transaction: bool = False,
    lock_timeout_set: bool = False,
    pg_version: int = 15,
    disabled: Iterable[str] = (),
    cache: Path | None = None,
) -> LintResult:
    """Lint one migration's SQL; see LintOptions for what each keyword tells the linter.

    With `cache` (a directory, see migration_lint.cache), a result computed before for the same SQL, options and
    linter is read back without parsing (nor importing pglast), and a new result is kept there.
    """
    unknown = set(disabled) - set(RULES)
    if unknown:
        raise ValueError(f"unknown rule id(s): {', '.join(sorted(unknown))}")
    options = LintOptions(
        declared_phase=_phase(declared_phase),
        plan_id=plan_id or None,
        new_tables=frozenset(new_tables),
        validated_not_null=frozenset(validated_not_null),
        in_transaction=in_transaction,
        lock_timeout_set=lock_timeout_set,
        pg_version=pg_version,
        disabled=frozenset(disabled),
    )
    if cache is None:
        return _engine().lint(sql, name, options)
    from govctl.migration_lint import cache as result_cache

    cache_key = result_cache.key(sql, options)
    cached = result_cache.load(cache, cache_key, name)
    if cached is not None:
        return cached
    result = _engine().lint(sql, name, options)
    result_cache.store(cache, cache_key, result)
    return result


def infer_phase(sql: str) -> Phase:
    """expand, contract, neutral, or mixed (both expand and contract operations) from the SQL's operations."""
    result = lint_sql(sql)
    if any(f.rule == "parse-error" for f in result.findings):
        raise ValueError(f"cannot infer the phase of SQL that does not parse: {result.findings[0].detail}")
    return result.inferred_phase


def check_phase(sql: str, declared_phase: Phase | str | None = None, plan_id: str | None = None) -> list[Finding]:
    """The emc-* findings only: declared vs inferred phase, mixed phases, contract plan annotation."""
    result = lint_sql(sql, declared_phase=declared_phase, plan_id=plan_id)
    return [f for f in result.findings if f.rule.startswith("emc-") or f.rule == "parse-error"]
