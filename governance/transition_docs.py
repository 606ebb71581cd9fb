"""Which transition table is rendered in which docs page; `python scripts/render_transition_docs.py` rewrites them.

The docs show each table between two markers (`governance.transitions.docs_block`);
tests/governance/test_transition_tables.py fails when a page and the code disagree.
"""

from __future__ import annotations

from pathlib import Path

from governance.transitions import TransitionTable, docs_block

DOCS = Path(__file__).resolve().parent.parent / "docs"


def rendered() -> dict[str, list[tuple[str, TransitionTable]]]:
    """docs page → [(block key, table)], imported late: governance does not import the apps at load time."""
    from flags import states as flag_states
    from releases import states as release_states
    from schemaplans import states as plan_states

    return {
        "RELEASES.md": [("release", release_states.TABLE)],
        "MIGRATIONS.md": [("schemaplan", plan_states.PLAN), ("backfill", plan_states.BACKFILL)],
        "FLAGS.md": [("change-request", flag_states.CHANGE_REQUEST),
                     ("scheduled-change", flag_states.SCHEDULED_CHANGE)],
    }


def current_block(text: str, key: str) -> str | None:
    start = text.find(f"<!-- transitions:{key} ")
    end_marker = f"<!-- /transitions:{key} -->"
    end = text.find(end_marker)
    if start < 0 or end < start:
        return None
    return text[start:end + len(end_marker)]


def rewrite() -> list[str]:
    """Replace each page's block with the code's table; returns the pages changed."""
    changed = []
    for page, tables in rendered().items():
        path = DOCS / page
        text = original = path.read_text()
        for key, table in tables:
            old = current_block(text, key)
            if old is None:
                raise SystemExit(f"{page}: no <!-- transitions:{key} --> block; add the two markers first")
            text = text.replace(old, docs_block(table, key))
        if text != original:
            path.write_text(text)
            changed.append(page)
    return changed
