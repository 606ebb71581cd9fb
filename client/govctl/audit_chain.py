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


def chain(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield each record with seq, prev_hash and hash added."""
    prev = GENESIS
    for seq, record in enumerate(records, start=1):
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


def verify(lines: Iterable[str]) -> Verdict:
    """Check every line's hash and its link to the line before; name the first line that breaks."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            return Verdict(False, count, prev, number, "blank line: a record was removed or the file was edited")
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError as exc:
            return Verdict(False, count, prev, number, f"not valid JSON ({exc.msg}): the line was edited")
        if not isinstance(entry, dict) or not {"seq", "prev_hash", "hash"} <= entry.keys():
            return Verdict(False, count, prev, number, "missing seq/prev_hash/hash: the line was edited or inserted")
        body = {k: v for k, v in entry.items() if k not in ("prev_hash", "hash")}
        if not _intact(entry["prev_hash"], body, entry["hash"]):
            return Verdict(False, count, prev, number, "content does not match its hash: the line was edited")
        if entry["prev_hash"] != prev or entry["seq"] != expected_seq:
            seq = entry["seq"]
            if isinstance(seq, int) and seq > expected_seq:
                problem = f"expected record {expected_seq}, found {seq}: a record was removed before this line"
            elif isinstance(seq, int) and seq < expected_seq:
                problem = f"expected record {expected_seq}, found {seq}: records were reordered or this line was inserted"
            else:
                problem = "does not link to the line before: a line was inserted here"
            return Verdict(False, count, prev, number, problem)
        prev = entry["hash"]
        expected_seq += 1
        count += 1
    return Verdict(True, count, prev)


def _intact(prev_hash: Any, body: dict[str, Any], digest: Any) -> bool:
    """Whether `digest` is the hash of the line; False for anything an edit can make of it (a hash that is no
    text, a lone surrogate escaped into a string, which no export writes)."""
    if not isinstance(prev_hash, str) or not isinstance(digest, str):
        return False
    try:
        return link(prev_hash, body) == digest
    except UnicodeEncodeError:
        return False
