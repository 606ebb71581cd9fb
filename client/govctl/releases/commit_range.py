"""Which commits of a range count, under a bump policy: the path filter, override blocks, nested commits,
reverts that cancel each other, then Conventional Commit parsing. Every step leaves an explanation line.

Used once per plan by `versioning.next_version` (the version) and, through its result, by the changelog.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from govctl.releases.conventional import ConventionalCommit, InvalidCommit, ParsedCommit, SourceCommit, classify

if TYPE_CHECKING:
    from govctl.releases.versioning import BumpPolicy

_GIT_REVERT_HEADER = re.compile(r'Revert "(?P<header>.*)"\s*$')
_REVERTS_COMMIT = re.compile(r"This reverts commit (?P<sha>[0-9a-fA-F]{7,40})\b")
_OVERRIDE_BLOCK = re.compile(r"^BEGIN_COMMIT_OVERRIDE[ \t]*\n(?P<body>.*?)^END_COMMIT_OVERRIDE", re.M | re.S)
_HEADER_LIKE = re.compile(r"[A-Za-z]+(\([^()\n]+\))?!?: \S")


@dataclass(frozen=True)
class Explanation:
    """One step of the reasoning; `sha` and `subject` are set when the step is about one commit."""

    bump: str
    rule: str
    sha: str | None = None
    subject: str | None = None

    def __str__(self) -> str:
        if self.sha is None:
            return self.rule
        return f"{self.sha[:12]} {self.subject!r}: {self.rule}"


@dataclass(frozen=True)
class PreparedCommits:
    """The commits of a range as the policy counts them: `parsed` count (in the given order) and feed the notes,
    `invalid` were rejected, `notes` say what was filtered, expanded or cancelled and why."""

    parsed: tuple[ParsedCommit, ...]
    invalid: tuple[InvalidCommit, ...]
    notes: tuple[Explanation, ...]
    # Commits of the range that count at all (valid or not), for `minimum_bump`.
    counted: int


def _split_override(block: str) -> list[str]:
    """The messages in an override block: each Conventional header line starts one, other lines are its body."""
    messages: list[list[str]] = []
    for line in block.split("\n"):
        if _HEADER_LIKE.match(line.strip()):
            messages.append([line.strip()])
        elif messages and line.strip():
            messages[-1].append(line.rstrip())
    return [m[0] + ("\n\n" + "\n".join(m[1:]) if len(m) > 1 else "") for m in messages]


def _footer_block(message: str) -> str:
    """The last paragraph of a message (below its header): where release-please reads nested commits."""
    text = message.replace("\r\n", "\n").strip()
    _header, _, rest = text.partition("\n")
    paragraphs = [p for p in re.split(r"\n\s*\n", rest.strip()) if p.strip()]
    return paragraphs[-1] if paragraphs else ""


def _same_sha(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return len(min(a, b, key=len)) >= 7 and (a.startswith(b) or b.startswith(a))


def _git_revert(source: SourceCommit) -> tuple[str, str] | None:
    """(reverted header, reverted sha) for git's own revert message, or a `revert:` commit naming its target."""
    message = source.message.replace("\r\n", "\n").strip()
    header = message.split("\n", 1)[0].strip()
    target = _REVERTS_COMMIT.search(message)
    if target is None:
        return None
    git_header = _GIT_REVERT_HEADER.fullmatch(header)
    if git_header:
        return git_header.group("header"), target.group("sha")
    if re.match(r"revert(\([^()]*\))?!?: ", header, re.IGNORECASE):
        return header.split(": ", 1)[1], target.group("sha")
    return None


def prepare_commits(commits: Iterable[SourceCommit], policy: BumpPolicy) -> PreparedCommits:
    """Apply the policy's path filter, override blocks and revert rule, then parse what is left."""
    notes: list[Explanation] = []
    sources = list(commits)
    if policy.paths:
        kept = []
        for source in sources:
            touches = policy.touches_paths(source)
            if touches is False:
                notes.append(Explanation("none", f"touches none of {', '.join(policy.paths)}: not counted",
                                         source.sha, source.subject))
                continue
            if touches is None:
                notes.append(Explanation("none", "its files are unknown, so the path filter cannot apply: counted",
                                         source.sha, source.subject))
            kept.append(source)
        sources = kept
    if policy.commit_override:
        expanded: list[SourceCommit] = []
        for source in sources:
            block = _OVERRIDE_BLOCK.search(source.message.replace("\r\n", "\n"))
            if block is None:
                expanded.append(source)
                continue
            messages = _split_override(block.group("body"))
            notes.append(Explanation("none", f"BEGIN_COMMIT_OVERRIDE: read as {len(messages)} commit message(s)",
                                     source.sha, source.subject))
            expanded.extend(dataclasses.replace(source, message=message) for message in messages)
        sources = expanded

    if policy.nested_commits:
        nested: list[SourceCommit] = []
        for source in sources:
            nested.append(source)
            extra = _split_override(_footer_block(source.message))
            if extra:
                notes.append(Explanation("none", f"{len(extra)} more Conventional header(s) in the body: counted as "
                                         "commit(s) of their own", source.sha, source.subject))
                nested.extend(dataclasses.replace(source, message=message) for message in extra)
        sources = nested

    reverts = {i: found for i, source in enumerate(sources) if (found := _git_revert(source))}
    cancelled: set[int] = set()
    if policy.cancel_reverts:
        changed = True
        while changed:  # order-independent: a revert that is itself reverted is settled first
            changed = False
            for i, (_header, target) in reverts.items():
                if i in cancelled or any(j not in cancelled and _same_sha(t, sources[i].sha)
                                         for j, (_h, t) in reverts.items() if j != i):
                    continue
                hit = next((j for j, s in enumerate(sources)
                            if j != i and j not in cancelled and _same_sha(s.sha, target)), None)
                if hit is not None:
                    cancelled |= {i, hit}
                    notes.append(Explanation("none", f"reverted by {sources[i].sha[:12]} in the same range: "
                                             "neither counts nor appears in the notes",
                                             sources[hit].sha, sources[hit].subject))
                    changed = True
    parsed: list[ParsedCommit] = []
    invalid: list[InvalidCommit] = []
    for i, source in enumerate(sources):
        if i in cancelled:
            continue
        if i in reverts and _GIT_REVERT_HEADER.fullmatch(source.subject):
            header, target = reverts[i]
            commit = ConventionalCommit(type="revert", description=header)
            parsed.append(ParsedCommit(source.sha, commit, source.pr_url))
            notes.append(Explanation("none", f"git revert of {target[:12]}, which is not in this range "
                                     "(released earlier): counts as type 'revert'", source.sha, source.subject))
            continue
        ok, bad = classify([source], glued_body=policy.glued_body)
        parsed.extend(ok)
        invalid.extend(bad)
    return PreparedCommits(tuple(parsed), tuple(invalid), tuple(notes), len(sources) - len(cancelled))
