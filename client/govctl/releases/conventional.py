"""Conventional Commits 1.0.0 (https://www.conventionalcommits.org/en/v1.0.0/), parsed strictly.

    <type>[(scope)][!]: <description>
    <blank line>
    [body: free paragraphs]
    <blank line>
    [footers: `Token: value` or `Token #value`, values may span lines]

Types and footer tokens are case-insensitive; `BREAKING CHANGE` and its synonym `BREAKING-CHANGE` must be
upper case. Every error carries the 1-based line and column it refers to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

BREAKING_TOKENS = ("BREAKING CHANGE", "BREAKING-CHANGE")

# Footer tokens use '-' in place of spaces (the spec's one exception is BREAKING CHANGE).
_FOOTER = re.compile(r"(?P<token>BREAKING CHANGE|[A-Za-z][A-Za-z0-9-]*)(?P<sep>: | #)")
# `BREAKING CHANGE:` alone on its line, its text on the following line(s).
_BREAKING_ALONE = re.compile(r"(?P<token>BREAKING CHANGE|BREAKING-CHANGE)(?P<sep>:)\s*$")
_BREAKING_ANY_CASE = re.compile(r"breaking[ -]change(?=:| #)", re.IGNORECASE)
_TYPE = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class CommitError:
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class ConventionalCommitError(ValueError):
    """The message is not a Conventional Commit; `errors` lists every problem found."""

    def __init__(self, errors: Iterable[CommitError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


@dataclass(frozen=True)
class Footer:
    token: str
    value: str
    line: int = 0

    @property
    def is_breaking(self) -> bool:
        return self.token in BREAKING_TOKENS


@dataclass(frozen=True)
class ConventionalCommit:
    type: str
    description: str
    scope: str | None = None
    # True only for the `!` in the header; `breaking` also counts BREAKING CHANGE footers.
    breaking_mark: bool = False
    body: str | None = None
    footers: tuple[Footer, ...] = field(default_factory=tuple)

    @property
    def breaking(self) -> bool:
        return self.breaking_mark or any(footer.is_breaking for footer in self.footers)

    @property
    def normalized_type(self) -> str:
        return self.type.lower()

    @property
    def header(self) -> str:
        scope = f"({self.scope})" if self.scope is not None else ""
        return f"{self.type}{scope}{'!' if self.breaking_mark else ''}: {self.description}"

    @property
    def breaking_notes(self) -> list[str]:
        """What the commit says breaks: BREAKING CHANGE footer values, else the description for a bare `!`."""
        notes = [footer.value for footer in self.footers if footer.is_breaking]
        if not notes and self.breaking_mark:
            notes = [self.description]
        return notes

    def footer_values(self, token: str) -> list[str]:
        wanted = token.lower()
        return [footer.value for footer in self.footers if footer.token.lower() == wanted]


def _header_errors(header: str) -> tuple[dict, list[CommitError]]:
    """Parse line 1 by hand (not one regex) so that each failure can name its column."""

    def fail(column: int, message: str) -> tuple[dict, list[CommitError]]:
        return {}, [CommitError(1, column, message)]

    if header.strip() == "":
        return fail(1, "the header (first line) is empty: expected '<type>[(scope)][!]: <description>'")
    match = _TYPE.match(header)
    if not match:
        return fail(1, f"the header must start with a type made of letters (e.g. feat, fix), found {header[0]!r}")
    type_ = match.group()
    pos = match.end()
    scope = None
    breaking = False
    if header.startswith("!(", pos):
        return fail(pos + 1, "'!' must come after the scope: write 'type(scope)!: description'")
    if header.startswith("(", pos):
        close = header.find(")", pos + 1)
        reopen = header.find("(", pos + 1)
        if close == -1:
            return fail(pos + 1, "the scope opened here is not closed: expected ')'")
        if reopen != -1 and reopen < close:
            return fail(reopen + 1, "a scope cannot contain '('")
        scope = header[pos + 1 : close]
        if scope.strip() == "":
            return fail(pos + 1, "the scope is empty: remove the parentheses or name a scope")
        if scope != scope.strip():
            return fail(pos + 2, f"the scope {scope!r} must not start or end with whitespace")
        pos = close + 1
    if header.startswith("!", pos):
        breaking = True
        pos += 1
    if pos >= len(header):
        return fail(pos + 1, f"expected ': ' and a description after {header[:pos]!r}")
    if header[pos] != ":":
        found = header[pos]
        if found.isspace() or found.isalnum() or found in "-_":
            return fail(
                pos + 1,
                f"expected ':' after the type, found {found!r} (a type is one word of letters, "
                "followed by an optional (scope), an optional '!', then ': ')",
            )
        return fail(pos + 1, f"expected ':' after {header[:pos]!r}, found {found!r}")
    if pos + 1 >= len(header):
        return fail(pos + 2, "the description is missing after ':'")
    if header[pos + 1] != " ":
        return fail(pos + 2, f"expected a space after ':', found {header[pos + 1]!r}")
    description = header[pos + 2 :]
    if description.strip() == "":
        return fail(pos + 3, "the description is empty")
    if description[0].isspace():
        return fail(pos + 3, "the description must start right after ': ' (found extra whitespace)")
    return {"type": type_, "scope": scope, "breaking_mark": breaking, "description": description.rstrip()}, []


def _footer_match(line: str) -> re.Match[str] | None:
    alone = _BREAKING_ALONE.match(line)
    if alone:
        return alone
    match = _FOOTER.match(line)
    if match and match.group("sep") == " #" and match.group("token").upper() in BREAKING_TOKENS:
        return None  # "BREAKING CHANGE #x" is a sentence, not a footer: breaking footers need ': '
    return match


def _is_breaking_footer(line: str) -> bool:
    match = _footer_match(line)
    return match is not None and match.group("token") in BREAKING_TOKENS and match.group("sep") != " #"


def _breaking_line_error(line: str, number: int) -> CommitError | None:
    """A line that tries to be a BREAKING CHANGE footer but would be read as plain text."""
    match = _BREAKING_ANY_CASE.match(line)
    if not match:
        return None
    if match.group() not in BREAKING_TOKENS:
        return CommitError(
            number,
            1,
            f"{match.group()!r} must be upper case ('BREAKING CHANGE' or 'BREAKING-CHANGE') to mark a breaking change",
        )
    rest = line[match.end() :]
    if rest.strip() == ":":
        return None  # `BREAKING CHANGE:` alone on its line: the text follows on the next lines
    if rest.startswith(" #") or (rest.startswith(":") and not rest.startswith(": ")):
        return CommitError(number, match.end() + 1, f"expected ': ' and a description after {match.group()}")
    return None


def _paragraphs(lines: list[str], start: int) -> list[tuple[int, int]]:
    """(first, end) index ranges of runs of non-blank lines from `start` on."""
    spans: list[tuple[int, int]] = []
    i = start
    while i < len(lines):
        if lines[i].strip() == "":
            i += 1
            continue
        first = i
        while i < len(lines) and lines[i].strip() != "":
            i += 1
        spans.append((first, i))
    return spans


def _analyse(message: str, *, glued_body: bool = False) -> tuple[ConventionalCommit | None, list[CommitError]]:
    text = message.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    lines = text.split("\n")
    fields, errors = _header_errors(lines[0])
    if glued_body and len(lines) > 1 and lines[1].strip() != "" and not errors:
        lines.insert(1, "")  # read a body glued to the header as if the blank line were there
    if len(lines) > 1 and lines[1].strip() != "":
        errors.append(CommitError(2, 1, "the header must be followed by a blank line before the body or footers"))
        # Without the blank line we cannot tell body from header; report the header problems only.
        return None, errors
    paragraphs = _paragraphs(lines, 1)
    footer_start = next(
        (index for index, (first, _) in enumerate(paragraphs) if _footer_match(lines[first])), len(paragraphs)
    )
    body_spans, footer_spans = paragraphs[:footer_start], paragraphs[footer_start:]
    for first, end in body_spans:
        for i in range(first, end):
            case_error = _breaking_line_error(lines[i], i + 1)
            if case_error:
                errors.append(case_error)
    # The spec reads a `Token: value` line glued to a body paragraph (no blank line before it: `Fixes #1`,
    # `Co-authored-by: …`, a pasted `Error: …` log line) as body text. The one exception kept is a glued
    # `BREAKING CHANGE:` line: dropping it would release a breaking change as a minor, so the footers start
    # there (conventional-changelog reads it the same way).
    footer_line = footer_spans[0][0] if footer_spans else None
    for first, end in body_spans:
        glued = next((i for i in range(first + 1, end) if _is_breaking_footer(lines[i])), None)
        if glued is not None:
            footer_line = glued
            body_spans = [span for span in body_spans if span[0] < glued]
            body_spans[-1] = (body_spans[-1][0], glued)
            break
    footers = _parse_footers(lines, footer_line, errors) if footer_line is not None else []
    if errors:
        return None, errors
    body = "\n".join(lines[body_spans[0][0] : body_spans[-1][1]]) if body_spans else None
    return ConventionalCommit(footers=tuple(footers), body=body, **fields), []


def _parse_footers(lines: list[str], start: int, errors: list[CommitError]) -> list[Footer]:
    """Footers from line index `start` (a footer line) to the end; a value runs until the next token."""
    footers: list[Footer] = []
    token, number = "", 0
    value_lines: list[str] = []

    def close() -> None:
        value = "\n".join(value_lines).strip()
        if token in BREAKING_TOKENS and value == "":
            errors.append(CommitError(number, len(token) + 3, f"the {token} footer needs a description"))
        footers.append(Footer(token=token, value=value, line=number))

    for i in range(start, len(lines)):
        line = lines[i]
        match = _footer_match(line)
        if not match:
            case_error = _breaking_line_error(line, i + 1)
            if case_error:
                errors.append(case_error)
            value_lines.append(line)
            continue
        if i > start:
            close()
        token, number = match.group("token"), i + 1
        value = line[match.end() :]
        value_lines = ["#" + value if match.group("sep") == " #" else value]
        if token.upper() in BREAKING_TOKENS and token not in BREAKING_TOKENS:
            errors.append(
                CommitError(number, 1, f"{token!r} must be upper case ('{token.upper()}') to mark a breaking change")
            )
    close()
    return footers


def parse(message: str) -> ConventionalCommit:
    """Parse one commit message; raise `ConventionalCommitError` listing every error with line and column."""
    commit, errors = _analyse(message)
    if errors or commit is None:
        raise ConventionalCommitError(errors)
    return commit


def lint(message: str) -> list[CommitError]:
    """Every error in the message (empty when it is a valid Conventional Commit)."""
    return _analyse(message)[1]


def git_cleanup_lines(message: str, comment_char: str = "#") -> list[tuple[int, str]]:
    """The lines `git commit` keeps of a message file (cleanup mode "strip"), each with its 1-based line number
    in the file: comment lines and everything below the `--verbose` scissors line go, trailing whitespace goes,
    leading, trailing and repeated blank lines go."""
    scissors = re.compile(re.escape(comment_char) + r" -{8,} >8 -{8,}")
    kept: list[tuple[int, str]] = []
    for number, raw in enumerate(message.replace("\r\n", "\n").split("\n"), start=1):
        if raw.startswith(comment_char):
            if scissors.fullmatch(raw.rstrip()):
                break
            continue
        line = raw.rstrip()
        if line == "" and (not kept or kept[-1][1] == ""):
            continue
        kept.append((number, line))
    while kept and kept[-1][1] == "":
        kept.pop()
    return kept


def git_cleanup(message: str, comment_char: str = "#") -> str:
    """The message as `git commit` would record it (see `git_cleanup_lines`)."""
    lines = [line for _, line in git_cleanup_lines(message, comment_char)]
    return "\n".join(lines) + ("\n" if lines else "")


@dataclass(frozen=True)
class SourceCommit:
    """A commit as CI reports it: its SHA, full message and, optionally, the pull request it came from."""

    sha: str
    message: str
    pr_url: str | None = None
    # The paths the commit touches, when known (a policy's path filter needs them).
    files: tuple[str, ...] | None = None

    @property
    def subject(self) -> str:
        return self.message.replace("\r\n", "\n").lstrip("\n").split("\n", 1)[0].strip()


@dataclass(frozen=True)
class ParsedCommit:
    sha: str
    commit: ConventionalCommit
    pr_url: str | None = None

    @property
    def subject(self) -> str:
        return self.commit.header


@dataclass(frozen=True)
class InvalidCommit:
    sha: str
    subject: str
    errors: tuple[str, ...]


def classify(
    commits: Iterable[SourceCommit], *, glued_body: bool = False
) -> tuple[list[ParsedCommit], list[InvalidCommit]]:
    """Split commits into parsed Conventional Commits and invalid ones (with their errors), keeping order.

    `glued_body` (a bump policy's choice) reads a body that starts right below the header, without the blank
    line the specification asks for, as body instead of rejecting the commit; `lint` always reports it."""
    parsed: list[ParsedCommit] = []
    invalid: list[InvalidCommit] = []
    for source in commits:
        commit, errors = _analyse(source.message, glued_body=glued_body)
        if commit is None:
            invalid.append(InvalidCommit(source.sha, source.subject, tuple(str(error) for error in errors)))
        else:
            parsed.append(ParsedCommit(source.sha, commit, source.pr_url))
    return parsed, invalid
