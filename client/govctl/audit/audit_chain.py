"""The audit export's hash chain: build it and verify it offline (standard library only).

Each JSON line is a record plus `seq`, `prev_hash` and `hash`, where
hash = sha256(prev_hash + canonical JSON of the record with seq). The first prev_hash is 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(record)).encode("utf-8")).hexdigest()


def chain(records: Iterable[dict[str, Any]], *, prev: str = GENESIS, start: int = 1) -> Iterator[dict[str, Any]]:
    """Yield each record with seq, prev_hash and hash added (a checkpoint continues the chain from `prev`)."""
    for seq, record in enumerate(records, start=start):
        body = {**record, "seq": seq}
        digest = link(prev, body)
        yield {**body, "prev_hash": prev, "hash": digest}
        prev = digest


@dataclass(frozen=True)
class Verdict:
    ok: bool
    records: int
    head_hash: str
    line: int | None = None
    problem: str = ""

    def message(self) -> str:
        if self.ok:
            return f"OK: {self.records} records, chain intact, head hash {self.head_hash}"
        return f"line {self.line}: {self.problem}"


def parse_line(raw: str) -> tuple[dict[str, Any] | None, str]:
    """A line as a JSON object, or None and what is wrong with it."""
    if not raw.strip():
        return None, "blank line: a record was removed or the file was edited"
    try:
        entry = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg}): the line was cut off or edited"
    if not isinstance(entry, dict):
        return None, "not a JSON object: the line was edited or inserted"
    return entry, ""


class ChainCheck:
    """Follows the chain record by record; `add` returns the problem with a record, or "" when it links."""

    def __init__(self) -> None:
        self.head = GENESIS
        self.count = 0
        self.first: dict[str, Any] | None = None
        self.last: dict[str, Any] | None = None

    def add(self, entry: dict[str, Any]) -> str:
        if not {"seq", "prev_hash", "hash"} <= entry.keys():
            return "missing seq/prev_hash/hash: the line was edited or inserted"
        body = {k: v for k, v in entry.items() if k not in ("prev_hash", "hash")}
        if not _intact(entry["prev_hash"], body, entry["hash"]):
            return "content does not match its hash: the line was edited"
        expected_seq = self.count + 1
        if entry["prev_hash"] != self.head or entry["seq"] != expected_seq:
            seq = entry["seq"]
            if isinstance(seq, int) and seq > expected_seq:
                return f"expected record {expected_seq}, found {seq}: a record was removed before this line"
            if isinstance(seq, int) and seq < expected_seq:
                return f"expected record {expected_seq}, found {seq}: records were reordered or this line was inserted"
            return "does not link to the line before: a line was inserted here"
        self.head = entry["hash"]
        self.count += 1
        self.first = self.first or entry
        self.last = entry
        return ""


def verify(lines: Iterable[str]) -> Verdict:
    """Check every line's hash and its link to the line before; name the first line that breaks.

    The chain alone: a file cut after any record still links. `govctl.audit.audit_proof.verify_export` adds the
    signed trailer that proves completeness."""
    check = ChainCheck()
    for number, raw in enumerate(lines, start=1):
        entry, problem = parse_line(raw)
        problem = problem or check.add(entry or {})
        if problem:
            return Verdict(False, check.count, check.head, number, problem)
    return Verdict(True, check.count, check.head)


def _intact(prev_hash: Any, body: dict[str, Any], digest: Any) -> bool:
    """Whether `digest` is the hash of the line; False for anything an edit can make of it (a hash that is no
    text, a lone surrogate escaped into a string, which no export writes)."""
    if not isinstance(prev_hash, str) or not isinstance(digest, str):
        return False
    try:
        return link(prev_hash, body) == digest
    except UnicodeEncodeError:
        return False
