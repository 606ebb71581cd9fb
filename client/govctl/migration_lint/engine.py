"""One pass over the statements parsed by pglast: findings, lock and transaction state, phase of each operation.

Imported lazily by `govctl.migration_lint` so that the rest of govctl works without the `lint` extra.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pglast import ast, parse_sql
from pglast.enums import AlterTableType as AT
from pglast.enums import ConstrType, DropBehavior, ObjectType, TransactionStmtKind, VariableSetKind
from pglast.parser import ParseError

from govctl.migration_lint import columns
from govctl.migration_lint.annotations import ignored_rules, read_emc
from govctl.migration_lint.catalogue import Phase
from govctl.migration_lint.findings import Finding, LintOptions, LintResult, Operation

SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, ACCESS_EXCLUSIVE = 4, 5, 6, 8
LOCK_NAMES = {5: "SHARE", 6: "SHARE ROW EXCLUSIVE", 7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}
# ALTER TABLE sub-commands that take less than ACCESS EXCLUSIVE (PostgreSQL docs, "ALTER TABLE").
_WEAKER_ALTERS = {
    AT.AT_SetStatistics: SHARE_UPDATE_EXCLUSIVE, AT.AT_ClusterOn: SHARE_UPDATE_EXCLUSIVE,
    AT.AT_DropCluster: SHARE_UPDATE_EXCLUSIVE, AT.AT_SetRelOptions: SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ResetRelOptions: SHARE_UPDATE_EXCLUSIVE, AT.AT_ValidateConstraint: SHARE_UPDATE_EXCLUSIVE,
    AT.AT_AttachPartition: SHARE_UPDATE_EXCLUSIVE, AT.AT_EnableTrig: SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrig: SHARE_ROW_EXCLUSIVE, AT.AT_EnableTrigAll: SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrigAll: SHARE_ROW_EXCLUSIVE, AT.AT_EnableTrigUser: SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrigUser: SHARE_ROW_EXCLUSIVE,
}  # fmt: skip
_CREATES = {
    ast.ViewStmt: "VIEW", ast.CreateSeqStmt: "SEQUENCE", ast.CreateEnumStmt: "TYPE", ast.CompositeTypeStmt: "TYPE",
    ast.CreateFunctionStmt: "FUNCTION", ast.CreateExtensionStmt: "EXTENSION", ast.CreateSchemaStmt: "SCHEMA",
    ast.CreateDomainStmt: "DOMAIN", ast.CreateRangeStmt: "TYPE",
}  # fmt: skip
_CONSTRAINT_LABELS = {
    ConstrType.CONSTR_PRIMARY: "PRIMARY KEY", ConstrType.CONSTR_UNIQUE: "UNIQUE", ConstrType.CONSTR_CHECK: "CHECK",
    ConstrType.CONSTR_FOREIGN: "FOREIGN KEY", ConstrType.CONSTR_EXCLUSION: "EXCLUDE",
}  # fmt: skip
_CONCURRENT_MISPLACED = "CONCURRENTLY inside a transaction block"


@dataclass
class _Stmt:
    node: ast.Node
    line: int
    text: str
    ignored: set[str]


def _relname(name: str) -> str:
    return name.rsplit(".", 1)[-1].strip('"')


def _disables_timeout(args: tuple | None) -> bool:
    value = args[0].val if args and isinstance(args[0], ast.A_Const) else None
    raw = getattr(value, "ival", None) if isinstance(value, ast.Integer) else getattr(value, "sval", None)
    return raw is not None and re.fullmatch(r"\s*0+\s*(ms|s|min|h|d)?\s*", str(raw)) is not None


class _Linter:
    def __init__(self, sql: str, name: str, options: LintOptions) -> None:
        self.sql, self.name, self.opts = sql, name, options
        self.new_tables = {_relname(t) for t in options.new_tables}
        self.new_indexes: set[str] = set()
        self.validated_not_null = {
            (_relname(pair.rsplit(".", 1)[0]), pair.rsplit(".", 1)[-1]) for pair in options.validated_not_null
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

    def is_new(self, table: str) -> bool:
        return table in self.new_tables

    def lock(self, table: str, mode: int) -> None:
        if mode < SHARE or self.is_new(table) or self.timeout_session or self.timeout_local:
            return
        if "missing-lock-timeout" not in self.stmt.ignored:
            self.unprotected_locks.append((self.stmt, f"{LOCK_NAMES[mode]} on {table}"))

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
            start = raw.stmt_location
            end = start + raw.stmt_len if raw.stmt_len else len(self.sql)
            text = " ".join(self.sql[start:end].split())
            gap_ignores = ignored_rules(self.sql[previous_end:start])[0]
            statements.append(_Stmt(raw.stmt, self.sql.count("\n", 0, start) + 1, text[:160], gap_ignores))
            previous_end = end
        self.schema_statements = sum(
            not isinstance(s.node, ast.VariableSetStmt | ast.TransactionStmt) for s in statements
        )
        for stmt in statements:
            self.stmt = stmt
            handler = getattr(self, f"on_{type(stmt.node).__name__}", None)
            if type(stmt.node) in _CREATES:
                self.on_created_object(stmt.node)
            elif handler is not None:
                handler(stmt.node)
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
    def on_TransactionStmt(self, node: ast.TransactionStmt) -> None:
        kind = TransactionStmtKind(node.kind)
        if kind in (TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START):
            if self.in_tx:
                self.flag("transaction-nesting", "BEGIN while a transaction is already open")
            self.in_tx, self.begin_line = True, self.stmt.line
        elif kind in (
            TransactionStmtKind.TRANS_STMT_COMMIT,
            TransactionStmtKind.TRANS_STMT_ROLLBACK,
            TransactionStmtKind.TRANS_STMT_PREPARE,
        ):
            if not self.in_tx:
                self.flag("transaction-nesting", "COMMIT/ROLLBACK without an open transaction")
            self.in_tx, self.begin_line, self.timeout_local = False, None, False
            self.not_valid_in_tx.clear()

    def on_VariableSetStmt(self, node: ast.VariableSetStmt) -> None:
        kind = VariableSetKind(node.kind)
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

    # -- tables ---------------------------------------------------------------------------------------------
    def on_CreateStmt(self, node: ast.CreateStmt) -> None:
        table = str(node.relation.relname)
        self.rerunnable(bool(node.if_not_exists), "CREATE TABLE without IF NOT EXISTS")
        self.new_tables.add(table)
        self.op(Phase.EXPAND, f"CREATE TABLE {table}")
        table_pk: set[str] = set()
        for element in node.tableElts or ():
            if isinstance(element, ast.Constraint):
                if ConstrType(element.contype) is ConstrType.CONSTR_PRIMARY:
                    table_pk.update(str(key.sval) for key in element.keys or ())
                if ConstrType(element.contype) is ConstrType.CONSTR_FOREIGN and element.pktable:
                    self.lock(str(element.pktable.relname), SHARE_ROW_EXCLUSIVE)
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                facts = columns.column_facts(element)
                self.check_column_type(facts, table, key=facts.primary_key or facts.name in table_pk)
                for referenced in facts.references:
                    self.lock(referenced, SHARE_ROW_EXCLUSIVE)

    def on_CreateTableAsStmt(self, node: ast.CreateTableAsStmt) -> None:
        table = str(node.into.rel.relname)
        self.new_tables.add(table)
        self.op(Phase.EXPAND, f"CREATE TABLE {table} AS")

    def check_column_type(self, facts: columns.ColumnFacts, table: str, *, key: bool) -> None:
        where = f"{table}.{facts.name}" if facts.name else table
        if facts.type == "bpchar":
            self.flag("char-column", where)
        if facts.type == "timestamp":
            self.flag("timestamp-without-time-zone", where)
        if facts.serial:
            self.flag("serial-column", f"{where} {facts.type}")
        if facts.type in columns.SMALL_INT_TYPES and (key or facts.identity or facts.serial):
            self.flag("int-primary-key", f"{where} {facts.type}")

    def on_AlterTableStmt(self, node: ast.AlterTableStmt) -> None:
        if ObjectType(node.objtype) is not ObjectType.OBJECT_TABLE:
            return
        table = str(node.relation.relname)
        for cmd in node.cmds or ():
            subtype = AT(cmd.subtype)
            handler = getattr(self, f"alter_{subtype.name[3:].lower()}", None)
            if handler is not None:
                handler(table, cmd)
            if subtype is not AT.AT_AddConstraint:
                self.lock(table, _WEAKER_ALTERS.get(subtype, ACCESS_EXCLUSIVE))

    def alter_addcolumn(self, table: str, cmd: ast.AlterTableCmd) -> None:
        facts = columns.column_facts(cmd.def_)
        where = f"{table}.{facts.name}"
        self.op(Phase.EXPAND, f"ADD COLUMN {where}")
        self.check_column_type(facts, table, key=facts.primary_key)
        self.rerunnable(bool(cmd.missing_ok), "ADD COLUMN without IF NOT EXISTS")
        for referenced in facts.references:
            self.lock(referenced, SHARE_ROW_EXCLUSIVE)
        if self.is_new(table):
            return
        fills_itself = facts.has_default or facts.identity or facts.serial or facts.stored_generated
        if facts.not_null and not fills_itself:
            self.flag("add-not-null-column-without-default", where)
        if facts.computed_per_row or (facts.has_default and self.opts.pg_version < 11):
            self.flag("add-column-volatile-default", where)
        if facts.has_default and facts.not_null:
            self.added_with_default.add((table, facts.name))
        if facts.references:
            self.flag("add-foreign-key-without-not-valid", f"{where} REFERENCES {', '.join(facts.references)}")
        if facts.check:
            self.flag("add-check-without-not-valid", where)
        if facts.primary_key:
            self.flag("add-primary-key-without-index", where)
        elif facts.unique:
            self.flag("add-unique-constraint-without-index", where)

    def alter_dropcolumn(self, table: str, cmd: ast.AlterTableCmd) -> None:
        where = f"{table}.{cmd.name}"
        self.rerunnable(bool(cmd.missing_ok), "DROP COLUMN without IF EXISTS")
        if self.is_new(table):
            return
        self.op(Phase.CONTRACT, f"DROP COLUMN {where}")
        if not self.in_contract():
            self.flag("drop-column-outside-contract", where)

    def alter_altercolumntype(self, table: str, cmd: ast.AlterTableCmd) -> None:
        facts = columns.column_facts(cmd.def_)
        where = f"{table}.{cmd.name}"
        widening = facts.type in columns.WIDENING_TARGETS and cmd.def_.raw_default is None
        if self.is_new(table):
            self.op(Phase.EXPAND, f"ALTER COLUMN {where} TYPE {facts.type}")
            return
        if facts.type == "timestamp":
            self.flag("timestamp-without-time-zone", where)
        if facts.type == "bpchar":
            self.flag("char-column", where)
        self.op(Phase.EXPAND if widening else Phase.CONTRACT, f"ALTER COLUMN {where} TYPE {facts.type}")
        self.flag("change-column-type-widening" if widening else "change-column-type", f"{where} -> {facts.type}")

    def alter_setnotnull(self, table: str, cmd: ast.AlterTableCmd) -> None:
        if self.is_new(table):
            return
        self.op(Phase.CONTRACT, f"SET NOT NULL {table}.{cmd.name}")
        if (table, str(cmd.name)) not in self.validated_not_null:
            self.flag("set-not-null-without-check", f"{table}.{cmd.name}")

    def alter_dropnotnull(self, table: str, cmd: ast.AlterTableCmd) -> None:
        self.op(Phase.EXPAND, f"DROP NOT NULL {table}.{cmd.name}")

    def alter_columndefault(self, table: str, cmd: ast.AlterTableCmd) -> None:
        if cmd.def_ is None and (table, str(cmd.name)) in self.added_with_default:
            self.flag("add-default-then-drop-default", f"{table}.{cmd.name}")

    def alter_addconstraint(self, table: str, cmd: ast.AlterTableCmd) -> None:
        con: ast.Constraint = cmd.def_
        kind = ConstrType(con.contype)
        name = str(con.conname or "") or _CONSTRAINT_LABELS.get(kind, "constraint")
        new = self.is_new(table)
        self.rerunnable(False, "ADD CONSTRAINT (it has no IF NOT EXISTS)")
        self.op(Phase.EXPAND if new else Phase.CONTRACT, f"ADD CONSTRAINT {name} ON {table}")
        if kind is ConstrType.CONSTR_FOREIGN:
            self.lock(table, SHARE_ROW_EXCLUSIVE)
            if con.pktable is not None:
                self.lock(str(con.pktable.relname), SHARE_ROW_EXCLUSIVE)
        else:
            self.lock(table, ACCESS_EXCLUSIVE)
        if new:
            return
        checked_column = columns.not_null_column(con.raw_expr) if kind is ConstrType.CONSTR_CHECK else None
        if kind in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK):
            if con.skip_validation:
                self.not_valid_in_tx.add((table, name))
                if checked_column:
                    self.pending_not_null_checks[(table, name)] = checked_column
            else:
                rule = (
                    "add-foreign-key-without-not-valid"
                    if kind is ConstrType.CONSTR_FOREIGN
                    else ("add-check-without-not-valid")
                )
                self.flag(rule, f"{name} on {table}")
                if checked_column:
                    self.validated_not_null.add((table, checked_column))
        elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and not con.indexname:
            rule = (
                "add-unique-constraint-without-index"
                if kind is ConstrType.CONSTR_UNIQUE
                else ("add-primary-key-without-index")
            )
            self.flag(rule, f"{name} on {table}")

    def alter_validateconstraint(self, table: str, cmd: ast.AlterTableCmd) -> None:
        key = (table, str(cmd.name))
        if not self.is_new(table):
            self.op(Phase.CONTRACT, f"VALIDATE CONSTRAINT {cmd.name} ON {table}")
        if key in self.not_valid_in_tx and self.in_tx:
            self.flag("validate-constraint-in-same-transaction", f"{cmd.name} on {table}")
        if key in self.pending_not_null_checks:
            self.validated_not_null.add((table, self.pending_not_null_checks[key]))

    def alter_dropconstraint(self, table: str, cmd: ast.AlterTableCmd) -> None:
        self.rerunnable(bool(cmd.missing_ok), "DROP CONSTRAINT without IF EXISTS")
        if not self.is_new(table):
            self.op(Phase.CONTRACT, f"DROP CONSTRAINT {cmd.name} ON {table}")

    def on_RenameStmt(self, node: ast.RenameStmt) -> None:
        kind = ObjectType(node.renameType)
        if kind not in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_COLUMN) or node.relation is None:
            return
        if kind is ObjectType.OBJECT_COLUMN and ObjectType(node.relationType) is not ObjectType.OBJECT_TABLE:
            return
        table = str(node.relation.relname)
        self.rerunnable(False, "RENAME")
        if self.is_new(table):
            if kind is ObjectType.OBJECT_TABLE:
                self.new_tables.add(str(node.newname))
            return
        self.lock(table, ACCESS_EXCLUSIVE)
        if kind is ObjectType.OBJECT_TABLE:
            self.op(Phase.CONTRACT, f"RENAME TABLE {table} TO {node.newname}")
            self.flag("rename-table", f"{table} -> {node.newname}")
        else:
            self.op(Phase.CONTRACT, f"RENAME COLUMN {table}.{node.subname} TO {node.newname}")
            self.flag("rename-column", f"{table}.{node.subname} -> {node.newname}")

    def on_DropStmt(self, node: ast.DropStmt) -> None:
        kind = ObjectType(node.removeType)
        names = [str(parts[-1].sval) for parts in node.objects or () if isinstance(parts, tuple | list) and parts]
        self.rerunnable(bool(node.missing_ok), f"DROP {kind.name[7:]} without IF EXISTS")
        if kind is ObjectType.OBJECT_INDEX:
            self.drop_index(names, bool(node.concurrent))
            return
        for name in names:
            if kind is ObjectType.OBJECT_TABLE and self.is_new(name):
                continue
            self.op(Phase.CONTRACT, f"DROP {kind.name[7:]} {name}")
            if kind is ObjectType.OBJECT_TABLE:
                self.lock(name, ACCESS_EXCLUSIVE)
                if not self.in_contract():
                    self.flag("drop-table-outside-contract", name)

    def drop_index(self, names: list[str], concurrent: bool) -> None:
        if concurrent and self.in_tx:
            self.flag("concurrent-index-in-transaction", f"DROP INDEX {_CONCURRENT_MISPLACED}")
        for name in names:
            if name in self.new_indexes:
                continue
            self.op(Phase.CONTRACT, f"DROP INDEX {name}")
            if not concurrent:
                self.flag("drop-index-non-concurrently", name)
                self.lock(f"the table of index {name}", ACCESS_EXCLUSIVE)

    def on_DropdbStmt(self, node: ast.DropdbStmt) -> None:
        self.op(Phase.CONTRACT, f"DROP DATABASE {node.dbname}")
        self.flag("drop-database", str(node.dbname))

    def on_TruncateStmt(self, node: ast.TruncateStmt) -> None:
        tables = [str(rel.relname) for rel in node.relations or ()]
        if DropBehavior(node.behavior) is DropBehavior.DROP_CASCADE:
            self.flag("truncate-cascade", ", ".join(tables))
        for table in tables:
            self.lock(table, ACCESS_EXCLUSIVE)

    # -- indexes --------------------------------------------------------------------------------------------
    def on_IndexStmt(self, node: ast.IndexStmt) -> None:
        table = str(node.relation.relname)
        if node.idxname:
            self.new_indexes.add(str(node.idxname))
        new = self.is_new(table)
        tightening = bool(node.unique) and not new
        self.op(
            Phase.CONTRACT if tightening else Phase.EXPAND,
            f"CREATE {'UNIQUE ' if node.unique else ''}INDEX {node.idxname or ''} ON {table}".replace("  ", " "),
        )
        self.rerunnable(bool(node.if_not_exists), "CREATE INDEX without IF NOT EXISTS")
        if node.concurrent:
            if self.in_tx:
                self.flag("concurrent-index-in-transaction", f"CREATE INDEX {_CONCURRENT_MISPLACED}")
        elif not new:
            self.flag("create-index-non-concurrently", f"{node.idxname or '(unnamed)'} on {table}")
            self.lock(table, SHARE)

    def on_ReindexStmt(self, node: ast.ReindexStmt) -> None:
        concurrent = any(str(p.defname).lower() == "concurrently" for p in node.params or ())
        target = str(node.relation.relname) if node.relation else str(node.name or "")
        if concurrent and self.in_tx:
            self.flag("concurrent-index-in-transaction", f"REINDEX {_CONCURRENT_MISPLACED}")
        elif not concurrent and not (self.is_new(target) or target in self.new_indexes):
            self.flag("reindex-non-concurrently", target)
            self.lock(target, SHARE)

    # -- other statements that lock or change the schema ----------------------------------------------------
    def on_LockStmt(self, node: ast.LockStmt) -> None:
        for rel in node.relations or ():
            self.lock(str(rel.relname), int(node.mode))

    def on_CreateTrigStmt(self, node: ast.CreateTrigStmt) -> None:
        self.op(Phase.EXPAND, f"CREATE TRIGGER {node.trigname}")
        self.lock(str(node.relation.relname), SHARE_ROW_EXCLUSIVE)

    def on_AlterEnumStmt(self, node: ast.AlterEnumStmt) -> None:
        if node.newVal:
            self.op(Phase.EXPAND, f"ADD VALUE {node.newVal!r}")

    def on_VacuumStmt(self, node: ast.VacuumStmt) -> None:
        if any(str(o.defname).lower() == "full" for o in node.options or ()):
            for rel in node.rels or ():
                self.lock(str(rel.relation.relname), ACCESS_EXCLUSIVE)

    def on_ClusterStmt(self, node: ast.ClusterStmt) -> None:
        if node.relation is not None:
            self.lock(str(node.relation.relname), ACCESS_EXCLUSIVE)

    def on_created_object(self, node: ast.Node) -> None:
        self.op(Phase.EXPAND, f"CREATE {_CREATES[type(node)]}")


def lint(sql: str, name: str, options: LintOptions) -> LintResult:
    return _Linter(sql, name, options).run()
