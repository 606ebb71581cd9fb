"""Lifecycles as transition tables: the allowed (from, to) moves of a status field, each with its guard.

Every governed lifecycle (a release's state, a schema plan's status, a flag change request's status …) is one
`TransitionTable`. A service checks the move before anything else (`check`) and makes it with `apply`, which
sets the field (and its "changed at" time), stamps actor and reason and saves; any move not in the table is
refused with a ValidationError that names the moves allowed from the current status. The guard is the
condition the service checks before making that move, in words; `markdown()` renders the table for the docs
(tests/governance/test_transition_tables.py checks the docs still match the code).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from governance.services import require_reason


class InvalidTransition(ValidationError):
    """The table does not allow this move; the message says which moves are allowed from here."""


@dataclass(frozen=True)
class TransitionTable:
    name: str  # what the rows are, for the docs ("schema plan")
    states: Sequence[str]  # every value of the field, in lifecycle order
    moves: Mapping[tuple[str, str], str]  # (from, to) → the guard: what must hold for the move, in words
    field: str = "status"
    changed_at_field: str = ""  # set to now on every move when given

    def __post_init__(self) -> None:
        unknown = {s for pair in self.moves for s in pair} - set(self.states)
        if unknown:
            raise ValueError(f"{self.name}: moves name unknown states {sorted(unknown)}")

    def allowed_from(self, state: str) -> list[str]:
        return [to for (frm, to) in self.moves if frm == state]

    def check(self, obj: Any, to: str, *, label: str = "", only_from: Collection[str] = ()) -> str:
        """The guard of moving `obj` to `to`, or InvalidTransition naming the moves allowed from its status.

        `only_from` narrows the table for one operation whose guard holds only from some states (resuming a
        backfill moves it to running from paused, not from pending).
        """
        frm = getattr(obj, self.field)
        guard = self.moves.get((frm, to))
        if guard is None:
            allowed = ", ".join(self.allowed_from(frm)) or f"none ({frm} is final)"
            raise InvalidTransition(
                {self.field: f"{label or obj} is {frm}: it cannot move to {to} (allowed next: {allowed})."},
                code="invalid_transition",
            )
        if only_from and frm not in only_from:
            raise InvalidTransition(
                {self.field: f"{label or obj} is {frm}: this moves it to {to} only from {', '.join(only_from)}."},
                code="invalid_transition",
            )
        return guard

    def apply(self, obj: Any, to: str, *, actor: Any, reason: str, label: str = "",
              changes: Mapping[str, Any] | None = None, only_from: Collection[str] = ()) -> str:
        """Move a locked row along the table and save it with actor and reason; returns the guard."""
        guard = self.check(obj, to, label=label, only_from=only_from)
        changes = dict(changes or {})
        fields = [self.field, *changes]
        setattr(obj, self.field, to)
        if self.changed_at_field:
            setattr(obj, self.changed_at_field, timezone.now())
            fields.append(self.changed_at_field)
        for name, value in changes.items():
            setattr(obj, name, value)
        obj.stamp(actor=actor, reason=require_reason(reason))
        obj.save(update_fields=fields)
        return guard

    def markdown(self) -> str:
        """The table as Markdown, one row per allowed move, in the order of `states`."""
        order = {s: i for i, s in enumerate(self.states)}
        rows = sorted(self.moves.items(), key=lambda item: (order[item[0][0]], order[item[0][1]]))
        lines = ["| from | to | guard |", "|---|---|---|"]
        lines += [f"| `{frm}` | `{to}` | {guard} |" for (frm, to), guard in rows]
        finals = [s for s in self.states if not self.allowed_from(s)]
        if finals:
            lines += ["", "Final: " + ", ".join(f"`{s}`" for s in finals) + ". Any other move is refused."]
        return "\n".join(lines)


def docs_block(table: TransitionTable, key: str) -> str:
    """The generated block as it appears in a docs page, between its two markers."""
    return f"<!-- transitions:{key} (generated from the code) -->\n{table.markdown()}\n<!-- /transitions:{key} -->"
