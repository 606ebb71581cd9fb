"""Lock levels and helpers shared by the statement rules (ddl.py, statements.py)."""

from __future__ import annotations

from typing import Any

from pglast import ast

SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, ACCESS_EXCLUSIVE = 4, 5, 6, 8
LOCK_NAMES = {5: "SHARE", 6: "SHARE ROW EXCLUSIVE", 7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}
CREATES = {
    ast.ViewStmt: "VIEW", ast.CreateSeqStmt: "SEQUENCE", ast.CreateEnumStmt: "TYPE", ast.CompositeTypeStmt: "TYPE",
    ast.CreateFunctionStmt: "FUNCTION", ast.CreateExtensionStmt: "EXTENSION", ast.CreateSchemaStmt: "SCHEMA",
    ast.CreateDomainStmt: "DOMAIN", ast.CreateRangeStmt: "TYPE",
}  # fmt: skip
CONCURRENT_MISPLACED = "CONCURRENTLY inside a transaction block"
_OFF = {"false", "off", "no", "0"}


def relation_name(rel: Any) -> str:
    """The name as written: `schema.table` when qualified, else `table` (resolved by search_path: public)."""
    return f"{rel.schemaname}.{rel.relname}" if getattr(rel, "schemaname", None) else str(rel.relname)


def option_on(option: ast.DefElem) -> bool:
    """Whether a `(NAME [value])` option is on: `(FULL)` and `(FULL true)` are, `(FULL false)` / `(FULL 0)` not."""
    arg = option.arg
    if arg is None:
        return True
    if isinstance(arg, ast.Boolean):
        return bool(arg.boolval)
    if isinstance(arg, ast.Integer):
        return bool(arg.ival)
    return str(getattr(arg, "sval", "")).lower() not in _OFF
