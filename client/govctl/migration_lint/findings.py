"""What the linter takes (options) and returns (findings, result). Standard library only."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from govctl.migration_lint.catalogue import RULES, Phase, Severity


@dataclass(frozen=True)
class LintOptions:
    """What the SQL alone cannot tell the linter.

    - declared_phase / plan_id: override the `-- emc:` annotation (Django passes the migration's declared phase).
    - new_tables: tables that no running code uses yet besides those created in the same SQL.
    - validated_not_null: "table.column" pairs already proven non-null by a validated CHECK in an earlier migration.
    - in_transaction: the migration tool wraps the SQL in a transaction (like squawk's --assume-in-transaction).
    - lock_timeout_set: the tool's session already sets lock_timeout.
    - pg_version: major version of the target server (a constant DEFAULT rewrites tables below 11).
    - disabled: rule ids not to report.
    """

    declared_phase: Phase | None = None
    plan_id: str | None = None
    new_tables: frozenset[str] = frozenset()
    validated_not_null: frozenset[str] = frozenset()
    in_transaction: bool = False
    lock_timeout_set: bool = False
    pg_version: int = 15
    disabled: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    line: int
    message: str
    safe_alternative: str
    statement: str = ""
    detail: str = ""

    @classmethod
    def of(cls, rule_id: str, *, line: int, statement: str = "", detail: str = "") -> Finding:
        rule = RULES[rule_id]
        return cls(rule_id, rule.severity, line, rule.message, rule.safe_alternative, statement, detail)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


@dataclass(frozen=True)
class Operation:
    """One schema operation and the phase it belongs to, for explaining the inferred phase."""

    phase: Phase
    description: str
    line: int


@dataclass(frozen=True)
class LintResult:
    name: str
    findings: tuple[Finding, ...]
    inferred_phase: Phase
    declared_phase: Phase | None = None
    plan_id: str | None = None
    operations: tuple[Operation, ...] = field(default=())
    suppressed: int = 0

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rule_ids(self) -> set[str]:
        return {f.rule for f in self.findings}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "inferred_phase": str(self.inferred_phase),
            "declared_phase": str(self.declared_phase) if self.declared_phase else None,
            "plan_id": self.plan_id,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "suppressed": self.suppressed,
            "findings": [f.to_dict() for f in self.findings],
            "operations": [
                {"phase": str(op.phase), "description": op.description, "line": op.line} for op in self.operations
            ],
        }
