"""The SQL corpus shared by the rule and squawk-agreement tests: one scenario per file, expectations in a header."""

from __future__ import annotations

import re
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "sql_corpus"
_EXPECT = re.compile(r"^--\s*expect:(?P<ids>.*)$", re.MULTILINE)


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.sql"))


def expected_rules(path: Path) -> set[str]:
    """Our rule ids listed in the file's `-- expect: id, id` header (`none` for a clean file)."""
    match = _EXPECT.search(path.read_text(encoding="utf-8"))
    if match is None:
        raise AssertionError(f"{path.name} has no `-- expect:` header")
    ids = {part.strip() for part in match.group("ids").split(",")}
    return ids - {"", "none"}
