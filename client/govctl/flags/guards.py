"""Framework-free pieces of the operational guards: SQL write detection, rate scaling, responses.

``govctl.django_middleware`` wires these into Django; they are kept apart so that they are tested
(and reusable) without Django.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from typing import Any, overload

__all__ = [
    "DatabaseWritesDisabled",
    "write_allowed",
    "is_write_statement",
    "maintenance_html",
    "problem_body",
    "scaled_rate",
    "wants_json",
    "written_tables",
]


class DatabaseWritesDisabled(RuntimeError):
    """Raised instead of running a write while the database kill switch is engaged."""


# Statements that change data or schema, by their first keyword. SELECT ... FOR UPDATE only locks.
_WRITE_KEYWORDS = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "TRUNCATE",
        "ALTER", "CREATE", "DROP", "RENAME", "COMMENT", "GRANT", "REVOKE",
        "REINDEX", "VACUUM", "CLUSTER", "REFRESH", "IMPORT", "SECURITY",
    }
)  # fmt: skip
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.S)
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
# UPDATE inside these clauses neither writes by itself nor names a table
_NOT_A_WRITE = re.compile(r"\b(?:FOR\s+(?:NO\s+KEY\s+)?UPDATE|DO\s+UPDATE)\b", re.I)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
_CTE_WRITE = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.I)
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_NAME = rf"({_IDENT}(?:\s*\.\s*{_IDENT})*)"
_TARGETS = [
    re.compile(rf"\bINSERT\s+INTO\s+{_NAME}", re.I),
    re.compile(rf"\bUPDATE\s+(?:ONLY\s+)?{_NAME}", re.I),
    re.compile(rf"\bDELETE\s+FROM\s+(?:ONLY\s+)?{_NAME}", re.I),
    re.compile(rf"\bMERGE\s+INTO\s+{_NAME}", re.I),
    re.compile(rf"\b(?:ALTER|DROP)\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_NAME}", re.I),
    re.compile(
        rf"\bCREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}",
        re.I,
    ),
    re.compile(rf"\bCREATE\s+(?:UNIQUE\s+)?INDEX\b.*?\bON\s+(?:ONLY\s+)?{_NAME}", re.I | re.S),
    re.compile(rf"\bCOPY\s+{_NAME}[^;]*?\bFROM\b", re.I | re.S),
    re.compile(rf"\bSELECT\b.*?\bINTO\s+(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?(?:TABLE\s+)?{_NAME}", re.I | re.S),
]
_TRUNCATE = re.compile(rf"\bTRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?({_NAME}(?:\s*,\s*(?:ONLY\s+)?{_NAME})*)", re.I)


def _strip(sql: str) -> str:
    sql = _NOT_A_WRITE.sub(" ", _STRING_LITERAL.sub("''", sql))
    return sql[_LEADING_NOISE.match(sql).end() :]  # type: ignore[union-attr]  # the pattern matches ""


def is_write_statement(sql: str) -> bool:
    """Whether ``sql`` changes data or schema (comments, string literals and CTEs considered)."""
    body = _strip(sql)
    first = _FIRST_WORD.match(body)
    if first is None:
        return False
    word = first.group(0).upper()
    if word in _WRITE_KEYWORDS:
        return True
    if word == "WITH":
        return _CTE_WRITE.search(body) is not None
    if word == "COPY":
        return re.search(r"\bFROM\b", body, re.I) is not None and not body[4:].lstrip().startswith("(")
    if word == "SELECT":
        return _TARGETS[-1].search(body) is not None
    return False


def _table_name(qualified: str) -> str:
    last = re.findall(_IDENT, qualified)[-1]
    if last.startswith('"'):
        return last[1:-1].replace('""', '"').lower()
    return last.lower()


def written_tables(sql: str) -> set[str]:
    """Tables a write statement targets (schema dropped, names lower-cased); empty if unknown."""
    body = _strip(sql)
    tables = set()
    for pattern in _TARGETS:
        for match in pattern.finditer(body):
            tables.add(_table_name(match.group(1)))
    for match in _TRUNCATE.finditer(body):
        for part in re.split(r"\s*,\s*", match.group(1)):
            part = re.sub(r"(?i)^ONLY\s+", "", part.strip())
            if part:
                tables.add(_table_name(part))
    return tables


def write_allowed(sql: str, always_writable: Iterable[str]) -> bool:
    """False when ``sql`` writes anything but the always-writable tables."""
    if not is_write_statement(sql):
        return True
    tables = written_tables(sql)
    allowed = {t.lower() for t in always_writable}
    return bool(tables) and tables <= allowed


_RATE = re.compile(r"\s*(\d+)\s*/\s*([A-Za-z]+)\s*")


@overload
def scaled_rate(rate: str, multiplier: float) -> str: ...
@overload
def scaled_rate(rate: None, multiplier: float) -> None: ...
@overload
def scaled_rate(rate: str | None, multiplier: float) -> str | None: ...


def scaled_rate(rate: str | None, multiplier: float) -> str | None:
    """A DRF throttle rate ("100/min") scaled by ``multiplier``; a positive rate never drops below 1.

    Keeps DRF's period notation as written. A multiplier of 0 stops the traffic ("0/min");
    negative, NaN and infinite multipliers are refused.
    """
    if rate is None:
        return None
    if not math.isfinite(multiplier) or multiplier < 0:
        raise ValueError(f"rate multiplier must be a finite number >= 0, got {multiplier!r}")
    match = _RATE.fullmatch(rate)
    if match is None or match.group(2)[0].lower() not in "smhd":
        raise ValueError(f"not a DRF rate (like '100/min'): {rate!r}")
    count, period = int(match.group(1)), match.group(2)
    scaled = 0 if multiplier == 0 or count == 0 else max(1, math.floor(count * multiplier))
    return f"{scaled}/{period}"


def wants_json(accept: str | None, path: str, api_prefixes: Iterable[str] = ("/api/",)) -> bool:
    """API clients get problem JSON: a path under an API prefix, or JSON preferred in Accept."""
    if any(path.startswith(prefix) for prefix in api_prefixes):
        return True
    best_q, best_json = 0.0, False
    for item in (accept or "").split(","):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        if not media:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        # the first media type listed wins a tie, as browsers list text/html first
        if q > best_q:
            best_q, best_json = q, media == "application/json" or media.endswith("+json")
    return best_json


def problem_body(status: int, title: str, detail: str, code: str, type_base: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem document."""
    return {"type": type_base + code, "title": title, "status": status, "detail": detail, **extra}


def maintenance_html(title: str, message: str, retry_after: int | None) -> str:
    minutes = f" Please try again in about {max(1, round(retry_after / 60))} minute(s)." if retry_after else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;"
        "color:#222;line-height:1.5}h1{font-size:1.6rem}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}{html.escape(minutes)}</p>"
        "</body></html>\n"
    )
