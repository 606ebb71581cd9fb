"""Facts about column definitions and expressions, read from pglast nodes (imported only through the engine)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from pglast import ast
from pglast.enums import ConstrType, NullTestType

SERIAL_TYPES = {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}
SMALL_INT_TYPES = {"int2", "int4", "smallint", "integer", "int", "serial", "serial4", "smallserial", "serial2"}

# Functions PostgreSQL marks stable or immutable (checked in pg_proc on 15) that migrations use as defaults.
# Any other function is assumed volatile: the linter cannot see the catalogue, and a false alarm can be
# silenced with -- lint-ignore, while a missed rewrite takes production down.
NON_VOLATILE_FUNCTIONS = {
    "now", "statement_timestamp", "transaction_timestamp", "current_setting", "txid_current",
    "pg_current_xact_id", "to_timestamp", "to_date", "to_char", "date_trunc", "timezone", "make_interval",
    "make_date", "make_timestamp", "make_timestamptz", "lower", "upper", "btrim", "ltrim", "rtrim", "length",
    "concat", "concat_ws", "md5", "abs", "round", "jsonb_build_object", "jsonb_build_array",
    "json_build_object", "json_build_array", "array_fill", "current_database", "current_schema",
}  # fmt: skip

# Target types a column can be widened to without a rewrite (from a narrower form of the same type).
WIDENING_TARGETS = {"text", "varchar", "numeric", "varbit", "citext"}

_T = TypeVar("_T")


def present(value: _T | None) -> _T:
    """A field the parser always fills for this kind of statement (pglast types every node field optional)."""
    if value is None:
        raise ValueError("pglast returned a statement without a field its grammar requires")
    return value


def type_name(type_node: ast.TypeName | None) -> str:
    """The type's own name without its schema, lower case (`pg_catalog.int4` -> `int4`)."""
    if type_node is None or not type_node.names:
        return ""
    return str(type_node.names[-1].sval).lower()


def walk(node: object) -> Iterator[ast.Node]:
    """Every node under `node`, itself included."""
    if isinstance(node, ast.Node):
        yield node
        for slot in node:  # a node iterates over its slot names
            yield from walk(getattr(node, slot, None))
    elif isinstance(node, tuple | list):
        for item in node:
            yield from walk(item)


def is_volatile(expr: ast.Node | None) -> bool:
    for node in walk(expr):
        if isinstance(node, ast.FuncCall):
            if str(present(node.funcname)[-1].sval).lower() not in NON_VOLATILE_FUNCTIONS:
                return True
        elif isinstance(node, ast.SubLink):
            return True
    return False


def not_null_column(expr: ast.Node | None) -> str | None:
    """`col` when `expr` is exactly `col IS NOT NULL`, which lets SET NOT NULL skip its scan."""
    if (isinstance(expr, ast.NullTest) and expr.nulltesttype == NullTestType.IS_NOT_NULL
            and isinstance(expr.arg, ast.ColumnRef)):
        fields = expr.arg.fields
        if fields and isinstance(fields[-1], ast.String):
            return str(fields[-1].sval)
    return None


def constraint_columns(con: ast.Constraint) -> list[str]:
    """The constrained table's columns a table constraint mentions."""
    names = [str(key.sval) for key in (con.fk_attrs or con.keys or ()) if isinstance(key, ast.String)]
    for node in walk(con.raw_expr):
        if isinstance(node, ast.ColumnRef) and node.fields and isinstance(node.fields[-1], ast.String):
            names.append(str(node.fields[-1].sval))
    return names


@dataclass(frozen=True)
class ColumnFacts:
    name: str
    type: str
    not_null: bool
    default: ast.Node | None
    has_default: bool
    identity: bool
    stored_generated: bool
    primary_key: bool
    unique: bool
    check: bool
    references: tuple[str, ...]

    @property
    def serial(self) -> bool:
        return self.type in SERIAL_TYPES

    @property
    def computed_per_row(self) -> bool:
        """The value of existing rows must be computed row by row, so adding the column rewrites the table."""
        return self.serial or self.identity or self.stored_generated or is_volatile(self.default)


def column_facts(col: ast.ColumnDef) -> ColumnFacts:
    kinds: dict[ConstrType, list[ast.Constraint]] = {}
    for constraint in col.constraints or ():
        kinds.setdefault(ConstrType(constraint.contype), []).append(constraint)
    default = kinds.get(ConstrType.CONSTR_DEFAULT, [None])[0]
    return ColumnFacts(
        name=str(col.colname or ""),
        type=type_name(col.typeName),
        not_null=bool(col.is_not_null) or ConstrType.CONSTR_NOTNULL in kinds or ConstrType.CONSTR_PRIMARY in kinds,
        default=default.raw_expr if default is not None else None,
        has_default=default is not None,
        identity=ConstrType.CONSTR_IDENTITY in kinds or bool(col.identity and col.identity != "\x00"),
        stored_generated=ConstrType.CONSTR_GENERATED in kinds,
        primary_key=ConstrType.CONSTR_PRIMARY in kinds,
        unique=ConstrType.CONSTR_UNIQUE in kinds,
        check=ConstrType.CONSTR_CHECK in kinds,
        references=tuple(str(c.pktable.relname) for c in kinds.get(ConstrType.CONSTR_FOREIGN, []) if c.pktable),
    )
