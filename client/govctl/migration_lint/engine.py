"""One pass over the statements parsed by pglast: findings, lock and transaction state, phase of each operation.

Imported lazily by `govctl.migration_lint` so that the rest of govctl works without the `lint` extra.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pglast import ast, parse_plpgsql, parse_sql
from pglast.enums import TransactionStmtKind, VariableSetKind
from pglast.parser import ParseError

from govctl.migration_lint import ddl, locks
from govctl.migration_lint.annotations import ignored_rules, read_emc
from govctl.migration_lint.catalogue import Phase
from govctl.migration_lint.columns import present
from govctl.migration_lint.findings import Finding, LintOptions, LintResult, Operation


@dataclass
class _Stmt:
    node: ast.Node
    line: int
    text: str
    ignored: set[str]


def table_key(name: str) -> str:
    """`schema.table` for a name as written; an unqualified name resolves to public (the default search_path)."""
    name = name.replace('"', "")
    return name if "." in name else f"public.{name}"


def _disables_timeout(args: tuple | None) -> bool:
    value = args[0].val if args and isinstance(args[0], ast.A_Const) else None
    raw = getattr(value, "ival", None) if isinstance(value, ast.Integer) else getattr(value, "sval", None)
    return raw is not None and re.fullmatch(r"\s*0+\s*(ms|s|min|h|d)?\s*", str(raw)) is not None


class Linter:
    """The state of one pass: transactions, lock_timeout, new tables, pending constraints, findings."""

    def __init__(self, sql: str, name: str, options: LintOptions) -> None:
        self.sql, self.name, self.opts = sql, name, options
        self.new_tables = {table_key(t) for t in options.new_tables}
        self.dropped_if_exists: set[tuple[str, str]] = set()
        self.new_indexes: set[str] = set()
        self.new_columns: set[tuple[str, str]] = set()
        self.constraint_phases: dict[tuple[str, str], Phase] = {}
        self.validated_not_null = {
            (table_key(pair.rsplit(".", 1)[0]), pair.rsplit(".", 1)[-1]) for pair in options.validated_not_null
        }
        self.in_tx = options.in_transaction
        self.begin_line: int | None = None
        self.timeout_session = options.lock_timeout_set
        self.timeout_local = False
        self.not_valid_in_tx: set[tuple[str, str]] = set()
        self.pending_not_null_checks: dict[tuple[str, str], str] = {}
        self.added_with_default: set[tuple[str, str]] = set()
        self.unprotected_locks: list[tuple[_Stmt, str]] = []
        self.findings: list[Finding] = []
        self.operations: list[Operation] = []
        self.suppressed = 0
        self.emc = read_emc(sql)
        self.declared = options.declared_phase or self.emc.phase
        self.plan_id = options.plan_id or self.emc.plan_id
        self.file_ignored = ignored_rules(sql)[1]
        self.schema_statements = 0
        self.stmt: _Stmt

    # -- plumbing -------------------------------------------------------------------------------------------
    def flag(self, rule_id: str, detail: str = "", stmt: _Stmt | None = None) -> None:
        """Report `rule_id` on `stmt` (the current statement by default) unless it is disabled or ignored."""
        stmt = stmt or self.stmt
        if self.silenced(rule_id, stmt.ignored):
            return
        self.findings.append(Finding.of(rule_id, line=stmt.line, statement=stmt.text, detail=detail))

    def flag_file(self, rule_id: str, detail: str, line: int) -> None:
        """Report a finding about the file as a whole (phase, transactions), at `line`."""
        if not self.silenced(rule_id, set()):
            self.findings.append(Finding.of(rule_id, line=line, detail=detail))

    def silenced(self, rule_id: str, ignored: set[str]) -> bool:
        if rule_id in self.opts.disabled:
            return True
        if rule_id in self.file_ignored or rule_id in ignored:
            self.suppressed += 1
            return True
        return False

    def op(self, phase: Phase, description: str) -> None:
        self.operations.append(Operation(phase, description, self.stmt.line))

    def key(self, table: str) -> str:
        return table_key(table)

    def is_new(self, table: str) -> bool:
        return table_key(table) in self.new_tables

    def add_new_table(self, table: str) -> None:
        self.new_tables.add(table_key(table))

    def lock(self, table: str, mode: int) -> None:
        if mode < locks.SHARE or self.is_new(table) or self.timeout_session or self.timeout_local:
            return
        if "missing-lock-timeout" not in self.stmt.ignored:
            self.unprotected_locks.append((self.stmt, f"{locks.LOCK_NAMES[mode]} on {table}"))

    def rerunnable(self, idempotent: bool, what: str) -> None:
        if not self.in_tx and not idempotent and self.schema_statements > 1:
            self.flag("non-rerunnable-statement", f"{what} outside a transaction")

    def in_contract(self) -> bool:
        return self.declared is Phase.CONTRACT

    # -- driver ---------------------------------------------------------------------------------------------
    def run(self) -> LintResult:
        try:
            raw_statements = parse_sql(self.sql)
        except ParseError as exc:
            offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
            line = self.sql.count("\n", 0, offset) + 1
            self.findings.append(Finding.of("parse-error", line=line, detail=str(exc.args[0])))
            return self.result(Phase.NEUTRAL)
        statements: list[_Stmt] = []
        previous_end = 0
        for raw in raw_statements:
            start = present(raw.stmt_location)
            end = start + raw.stmt_len if raw.stmt_len else len(self.sql)
            text = " ".join(self.sql[start:end].split())
            gap_ignores = ignored_rules(self.sql[previous_end:start])[0]
            statements.append(_Stmt(present(raw.stmt), self.sql.count("\n", 0, start) + 1, text[:160], gap_ignores))
            previous_end = end
        self.schema_statements = sum(
            not isinstance(s.node, ast.VariableSetStmt | ast.TransactionStmt) for s in statements
        )
        for stmt in statements:
            self.stmt = stmt
            if isinstance(stmt.node, ast.TransactionStmt):
                self.on_transaction(stmt.node)
            elif isinstance(stmt.node, ast.VariableSetStmt):
                self.on_set(stmt.node)
            elif isinstance(stmt.node, ast.DoStmt):
                self.on_do(stmt.node)
            elif type(stmt.node) in ddl.HANDLERS:
                ddl.HANDLERS[type(stmt.node)](self, stmt.node)
        if self.in_tx and self.begin_line is not None:
            self.flag_file("uncommitted-transaction", "BEGIN without COMMIT", self.begin_line)
        if self.unprotected_locks:
            first, lock = self.unprotected_locks[0]
            more = len(self.unprotected_locks) - 1
            self.flag("missing-lock-timeout", lock + (f"; {more} later statement(s) too" if more else ""), first)
        return self.result(self.finish_phase())

    def finish_phase(self) -> Phase:
        phases = {op.phase for op in self.operations}
        if Phase.EXPAND in phases and Phase.CONTRACT in phases:
            inferred = Phase.MIXED
        else:
            inferred = next((p for p in (Phase.CONTRACT, Phase.EXPAND) if p in phases), Phase.NEUTRAL)
        at = self.emc.line or 1
        for line, problem in self.emc.problems:
            self.flag_file("emc-invalid-annotation", problem, line)
        if inferred is Phase.MIXED:
            expand = next(op for op in self.operations if op.phase is Phase.EXPAND)
            contract = next(op for op in self.operations if op.phase is Phase.CONTRACT)
            self.flag_file(
                "emc-mixed-phase",
                f"expand: {expand.description} (line {expand.line}); "
                f"contract: {contract.description} (line {contract.line})",
                contract.line,
            )
        elif self.declared is None and inferred is Phase.CONTRACT:
            first = next(op for op in self.operations if op.phase is Phase.CONTRACT)
            self.flag_file("emc-contract-undeclared", f"{first.description} (line {first.line})", first.line)
        elif self.declared is not None and self.declared is not inferred:
            self.flag_file("emc-phase-mismatch", f"declared {self.declared}, operations say {inferred}", at)
        if self.declared is Phase.CONTRACT and not self.plan_id:
            self.flag_file("emc-contract-missing-plan", "", at)
        return inferred

    def result(self, inferred: Phase) -> LintResult:
        findings = tuple(sorted(self.findings, key=lambda f: (f.line, f.rule)))
        return LintResult(
            self.name, findings, inferred, self.declared, self.plan_id, tuple(self.operations), self.suppressed
        )

    # -- transactions and settings --------------------------------------------------------------------------
    def on_transaction(self, node: ast.TransactionStmt) -> None:
        kind = node.kind
        if kind in (TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START):
            if self.in_tx:
                self.flag("transaction-nesting", "BEGIN while a transaction is already open")
            self.in_tx, self.begin_line = True, self.stmt.line
        elif kind in (
            TransactionStmtKind.TRANS_STMT_COMMIT,
            TransactionStmtKind.TRANS_STMT_ROLLBACK,
            TransactionStmtKind.TRANS_STMT_PREPARE,
        ):
            if self.opts.in_transaction and self.begin_line is None and self.in_tx:
                # The tool opened this transaction: it would record the migration as applied after a COMMIT or
                # ROLLBACK in the file ended it (a ROLLBACK throws the changes away).
                self.flag("commit-in-tool-transaction", "the migration tool wraps the file in a transaction")
            elif not self.in_tx:
                self.flag("transaction-nesting", "COMMIT/ROLLBACK without an open transaction")
            self.in_tx, self.begin_line, self.timeout_local = False, None, False
            self.not_valid_in_tx.clear()

    def on_do(self, node: ast.DoStmt) -> None:
        """Lint the SQL statements of a PL/pgSQL DO block as if written in the file (the block is one transaction);
        flag the block as not checked when it runs SQL the linter cannot see."""
        options = {str(item.defname): getattr(item.arg, "sval", None) for item in node.args or ()}
        language = (options.get("language") or "plpgsql").lower()
        body = options.get("as") or ""
        if language != "plpgsql":
            self.flag("do-block-unchecked", f"LANGUAGE {language}")
            return
        try:
            tree = parse_plpgsql(
                f"CREATE FUNCTION pg_temp.govctl_do() RETURNS void LANGUAGE plpgsql AS $govctl_do${body}$govctl_do$"
            )
        except ParseError as exc:
            self.flag("do-block-unchecked", f"the body does not parse: {exc.args[0]}")
            return
        queries: list[str] = []
        dynamic = _walk_plpgsql(tree, queries)
        if dynamic:
            self.flag("do-block-unchecked", f"{dynamic} dynamic EXECUTE statement(s)")
        was_in_tx = self.in_tx
        self.in_tx = True
        try:
            for query in queries:
                try:
                    nested = parse_sql(query)
                except ParseError:
                    self.flag("do-block-unchecked", f"cannot parse {query[:60]!r}")
                    continue
                for raw in nested:
                    inner = present(raw.stmt)
                    if type(inner) in ddl.HANDLERS:
                        ddl.HANDLERS[type(inner)](self, inner)
        finally:
            self.in_tx = was_in_tx

    def on_set(self, node: ast.VariableSetStmt) -> None:
        kind = node.kind
        if (
            kind is VariableSetKind.VAR_RESET_ALL
            or (node.name or "").lower() == "lock_timeout"
            and kind in (VariableSetKind.VAR_RESET, VariableSetKind.VAR_SET_DEFAULT)
        ):
            self.timeout_session = self.timeout_local = False
        elif (node.name or "").lower() == "lock_timeout" and kind is VariableSetKind.VAR_SET_VALUE:
            enabled = not _disables_timeout(node.args)
            if node.is_local:
                # SET LOCAL outside a transaction only warns and changes nothing.
                self.timeout_local = enabled and self.in_tx
            else:
                self.timeout_session, self.timeout_local = enabled, enabled and self.timeout_local


def _walk_plpgsql(tree: object, queries: list[str]) -> int:
    """Collect the static SQL of a parsed PL/pgSQL function (pglast's JSON form); return how many dynamic
    EXECUTEs it has."""
    dynamic = 0
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"):
                dynamic += 1
            if key == "PLpgSQL_stmt_execsql":
                query = value.get("sqlstmt", {}).get("PLpgSQL_expr", {}).get("query")
                if query:
                    queries.append(query)
            dynamic += _walk_plpgsql(value, queries)
    elif isinstance(tree, list):
        for item in tree:
            dynamic += _walk_plpgsql(item, queries)
    return dynamic


def lint(sql: str, name: str, options: LintOptions) -> LintResult:
    return Linter(sql, name, options).run()
