"""Comment annotations in SQL migrations: `-- emc: <phase> [plan=<id>]` and `-- lint-ignore: <rule>, ...`.

Standard library only: `govctl migrations check` reads plan ids without pglast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from govctl.migration_lint.catalogue import DECLARABLE_PHASES, Phase

_EMC = re.compile(r"^\s*--\s*emc\s*:(?P<body>.*)$", re.IGNORECASE | re.MULTILINE)
_IGNORE = re.compile(r"^\s*--\s*lint-ignore(?P<file>-file)?\s*:(?P<ids>.*)$", re.IGNORECASE | re.MULTILINE)
PLAN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


@dataclass(frozen=True)
class EmcDeclaration:
    """What a file's `-- emc:` comments declare; `problems` lists (line, why) for unreadable or conflicting ones."""

    phase: Phase | None = None
    plan_id: str | None = None
    line: int | None = None
    problems: tuple[tuple[int, str], ...] = field(default=())


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _parse_body(body: str) -> tuple[Phase | None, str | None, str | None]:
    words = body.split()
    if not words:
        return None, None, "empty annotation"
    try:
        phase = Phase(words[0].lower())
    except ValueError:
        phase = None
    if phase not in DECLARABLE_PHASES:
        return None, None, f"unknown phase {words[0]!r} (expected expand, contract or neutral)"
    plan_id = None
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or key.lower() != "plan":
            return None, None, f"unexpected {word!r} (only plan=<id> may follow the phase)"
        if not PLAN_ID.fullmatch(value):
            return None, None, f"invalid plan id {value!r}"
        plan_id = value
    if plan_id and phase is not Phase.CONTRACT:
        return None, None, "plan=<id> belongs on contract migrations only"
    return phase, plan_id, None


def read_emc(sql: str) -> EmcDeclaration:
    """The phase and plan id declared by the file's `-- emc:` comments (identical repeats are allowed)."""
    found: list[tuple[int, Phase, str | None]] = []
    problems: list[tuple[int, str]] = []
    for match in _EMC.finditer(sql):
        line = _line_of(sql, match.start())
        phase, plan_id, problem = _parse_body(match.group("body"))
        if problem:
            problems.append((line, problem))
        elif phase is not None:
            found.append((line, phase, plan_id))
    if not found:
        return EmcDeclaration(problems=tuple(problems))
    first_line, phase, plan_id = found[0]
    for line, other_phase, other_plan in found[1:]:
        if (other_phase, other_plan) != (phase, plan_id):
            problems.append((line, f"conflicts with the annotation on line {first_line}"))
    return EmcDeclaration(phase=phase, plan_id=plan_id, line=first_line, problems=tuple(problems))


def ignored_rules(comment_text: str) -> tuple[set[str], set[str]]:
    """Rule ids silenced by `-- lint-ignore:` (next statement) and `-- lint-ignore-file:` (whole file)."""
    statement: set[str] = set()
    whole_file: set[str] = set()
    for match in _IGNORE.finditer(comment_text):
        # A reason may follow the ids in parentheses: `-- lint-ignore: rule-id (why it is safe here)`.
        ids = set(re.findall(r"[A-Za-z0-9][A-Za-z0-9-]*", match.group("ids").split("(", 1)[0]))
        (whole_file if match.group("file") else statement).update(ids)
    return statement, whole_file
