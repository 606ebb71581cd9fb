"""Refuse evidence that looks like it holds a secret (a token, a key, a password in a URL …).

One pure module: it walks a JSON-like payload and runs detect-secrets' own detectors on every string (and key),
naming where each suspect string is (a JSON path such as `artifacts.deploy.env[2]`) and what kind it looks
like, NEVER the value. `refuse_secrets` raises a DRF ValidationError (code "secret-in-evidence") that the API
answers as a 400 problem body with `secrets: [{field, kind, line}]`; the value is neither stored nor logged.

The detectors are the credential-pattern ones (AWS, GitHub, Slack, Stripe, private keys, JWTs, basic-auth
URLs, `password = "…"` assignments …). The generic high-entropy detectors are left out on purpose: evidence
legitimately carries digests and hashes (sha256 of artifacts, commit SHAs), which they would flag. Public IP
addresses are not secrets. The detectors are used directly (not through detect-secrets' process-global
settings), so concurrent requests in one process do not interfere.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

CODE = "secret-in-evidence"
# detect-secrets' secret types that evidence may legitimately match (see the module docstring)
KEYWORD_TYPE = "Secret Keyword"  # noqa: S105 - detect-secrets' name for `password = "…"` findings
EXCLUDED_TYPES = frozenset({"Base64 High Entropy String", "Hex High Entropy String", "Public IP (ipv4)"})
MAX_FINDINGS = 20  # reported per request; scanning stops there


@dataclass(frozen=True)
class Finding:
    field: str  # JSON path of the string (or key) that looks like a secret
    kind: str  # detect-secrets' secret type, e.g. "GitHub Token"
    line: int | None = None  # 1-based line within a multi-line string

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "kind": self.kind, "line": self.line}


class SecretInEvidence(serializers.ValidationError):
    """A 400 whose body names the fields and kinds (governance.api.errors renders `secrets` and the code)."""

    default_code = CODE
    problem_code = CODE

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        by_field: dict[str, list[str]] = {}
        for finding in findings:
            root = finding.field.split(".", 1)[0].split("[", 1)[0] or "non_field_errors"
            where = finding.field + (f" (line {finding.line})" if finding.line else "")
            by_field.setdefault(root, []).append(
                f"{where} looks like a secret ({finding.kind}); remove it, evidence never holds secrets")
        super().__init__(by_field, code=CODE)

    @property
    def problem_extra(self) -> dict[str, Any]:
        return {"secrets": [finding.to_dict() for finding in self.findings]}


@functools.cache
def _detectors() -> tuple[Any, ...]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    mapping: dict[str, Any] = get_mapping_from_secret_type_to_class()
    return tuple(cls() for kind, cls in sorted(mapping.items()) if kind not in EXCLUDED_TYPES)


def _placeholder(secret: str) -> bool:
    """`password = "${DB_PASSWORD}"`, `"<token>"`, `"{{ secret }}"`: a reference, not a value."""
    from detect_secrets.filters.heuristic import is_prefixed_with_dollar_sign, is_templated_secret

    return is_templated_secret(secret) or is_prefixed_with_dollar_sign(secret) or secret.startswith("%(")


@functools.cache
def _keyword_hint() -> re.Pattern[str]:
    """Any of the keyword detector's words (password, secret, api_key …): its regex is by far the slowest
    detector (≈1 s on a 200 KB changelog), so it runs only on the lines that hold one of them."""
    from detect_secrets.plugins.keyword import DENYLIST

    return re.compile("|".join(DENYLIST), re.IGNORECASE)


def kinds_in(text: str) -> list[str]:
    """The kinds of secret the text seems to hold (sorted, unique); [] when none."""
    found = set()
    for detector in _detectors():
        if detector.secret_type == KEYWORD_TYPE:
            hint = _keyword_hint()
            lines = [line for line in text.splitlines() if hint.search(line)] if hint.search(text) else []
            if any(not _placeholder(match) for line in lines for match in detector.analyze_string(line)):
                found.add(KEYWORD_TYPE)
            continue
        if any(True for _ in detector.analyze_string(text)):
            found.add(detector.secret_type)
    return sorted(found)


def _segment(key: Any, index: int) -> str:
    """A key as a path segment; a key that itself looks like a secret is named by position, never spelt out."""
    text = str(key)
    return f"<key {index}>" if kinds_in(text) else text


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, text) for every key and string value, in document order, iteratively (payloads can be deep)."""
    stack: list[tuple[Any, str, bool]] = [(value, path, False)]  # (item, path, item is a key)
    while stack:
        item, where, is_key = stack.pop()
        if isinstance(item, str):
            yield (f"{where} (key)" if is_key else where), item
        elif isinstance(item, dict):
            for index, (key, child) in reversed(list(enumerate(item.items()))):
                segment = _segment(key, index)
                child_path = f"{where}.{segment}" if where else segment
                stack.append((child, child_path, False))
                if isinstance(key, str):
                    stack.append((key, child_path, True))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{where}[{i}]", False) for i, child in reversed(list(enumerate(item))))


def _all_strings(value: Any) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out.extend(key for key in item if isinstance(key, str))
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return out


def scan(payload: Any, *, field_prefix: str = "") -> list[Finding]:
    """Findings in a JSON-like payload, in document order, at most MAX_FINDINGS."""
    # One pass over all the strings joined by newlines first (the detectors' boundaries accept whitespace): clean
    # evidence, the usual case, costs one run of each detector instead of one per string.
    if not kinds_in("\n".join(_all_strings(payload))):
        return []
    findings: list[Finding] = []
    for path, text in _strings(payload, field_prefix):
        whole = kinds_in(text)  # one pass over the whole string; lines only to say where
        if not whole:
            continue
        lines = text.splitlines()
        found = [(number, kind) for number, line in enumerate(lines, start=1) for kind in kinds_in(line)]
        if len(lines) <= 1 or not found:  # a single line, or a match only the whole text shows
            found = [(0, kind) for kind in whole]
        for number, kind in found:
            findings.append(Finding(path or "non_field_errors", kind, number or None))
            if len(findings) >= MAX_FINDINGS:
                return findings
    return findings


def refuse_secrets(payload: Any, *, field_prefix: str = "") -> None:
    """Raise SecretInEvidence (a DRF ValidationError, code "secret-in-evidence") when any string of the payload
    looks like a secret. field_prefix names where the payload sits in the request (e.g. "sbom"), so the paths in
    the 400 body are the request's own JSON paths."""
    findings = scan(payload, field_prefix=field_prefix)
    if findings:
        raise SecretInEvidence(findings)
