"""One release's changelog section in Markdown, built from Conventional Commits.

Breaking changes come first, then one section per commit type in the policy's order (`changelog_sections`:
type → heading; types not listed stay out of the notes, their breaking changes are still listed). Commits keep
the order they are given in (CI sends `git log` order, newest first). Which commits count (invalid ones,
cancelled reverts, the path filter) is decided once, by `commit_range.prepare_commits`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote, urlsplit

from govctl.releases.commit_range import prepare_commits
from govctl.releases.conventional import ParsedCommit, SourceCommit
from govctl.releases.versioning import BumpPolicy

BREAKING_SECTION = "⚠ BREAKING CHANGES"

_PR_REFERENCE = re.compile(r"\(#(\d+)\)")
_PR_NUMBER = re.compile(r"/(\d+)/?$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_MARKDOWN_SPECIAL = re.compile(r"([\\*_\[\]<>])")
# Characters left as they are in a URL; parentheses and spaces are quoted so they cannot end a Markdown link.
_URL_SAFE = ":/?#@!$&'*+,;=%-._~"


def _web_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{what} must be an http(s) URL, got {url!r}")
    return quote(url, safe=_URL_SAFE)


def is_web_url(url: str) -> bool:
    """Whether the changelog can link to `url` (an http(s) URL with a host)."""
    try:
        _web_url(url.strip(), "URL")
    except ValueError:
        return False
    return True


def _repository(repo_url: str | None) -> str | None:
    if repo_url is None:
        return None
    url = repo_url.strip().rstrip("/")
    if url.endswith(".git"):
        url = url[:-4]
    return _web_url(url, "repository URL")


def escape_markdown(text: str) -> str:
    """Escape characters that would turn commit text into emphasis, links or HTML; code spans stay as written."""
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[last : match.start()]))
        out.append(match.group())
        last = match.end()
    out.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[last:]))
    return "".join(out)


def _link(label: str, url: str | None) -> str:
    return f"[{label}]({url})" if url else label


def _describe(text: str, repo: str | None) -> tuple[str, set[str]]:
    """Escaped text with `(#123)` turned into pull-request links; also returns the numbers referenced."""
    numbers = set(_PR_REFERENCE.findall(text))
    escaped = escape_markdown(text)
    if repo:
        escaped = _PR_REFERENCE.sub(lambda m: f"([#{m.group(1)}]({repo}/pull/{m.group(1)}))", escaped)
    return escaped, numbers


def _references(item: ParsedCommit, repo: str | None, mentioned: set[str]) -> str:
    refs = ""
    if item.pr_url:
        try:
            pr_url: str | None = _web_url(item.pr_url, "pull request URL")
        except ValueError:
            pr_url = None  # an unusable link is shown as text rather than dropped
        found = _PR_NUMBER.search(urlsplit(item.pr_url).path)
        number = found.group(1) if found else None
        if number is None or number not in mentioned:
            label = f"#{number}" if number else "PR"
            refs += f" ({_link(label, pr_url) if pr_url else escape_markdown(item.pr_url)})"
    sha = item.sha
    commit_url = f"{repo}/commit/{quote(sha, safe='')}" if repo else None
    return refs + f" ({_link(escape_markdown(sha[:7]), commit_url)})"


def _entry(item: ParsedCommit, text: str, repo: str | None) -> str:
    scope = f"**{escape_markdown(item.commit.scope)}:** " if item.commit.scope else ""
    first, *rest = text.split("\n")
    line, mentioned = _describe(first, repo)
    out = f"* {scope}{line}{_references(item, repo, mentioned)}"
    for extra in rest:
        # Indented continuation lines stay inside the list item.
        out += "\n" + (f"  {_describe(extra, repo)[0]}" if extra.strip() else "")
    return out


def render_section(
    *,
    version: str,
    commits: Sequence[ParsedCommit],
    policy: BumpPolicy,
    repo_url: str | None = None,
    date: str | None = None,
) -> str:
    """The Markdown section for `version` from commits already counted by the policy; `repo_url`
    (https://host/owner/repo) turns SHAs and `(#123)` into links."""
    repo = _repository(repo_url)
    titles = policy.section_titles
    breaking: list[str] = []
    grouped: dict[str, list[str]] = {}
    for item in commits:
        commit = item.commit
        for note in policy.breaking_notes(commit):
            breaking.append(_entry(item, note, repo))
        title = titles.get(commit.normalized_type)
        if title is not None:
            grouped.setdefault(title, []).append(_entry(item, commit.description, repo))

    heading = f"## {version}" + (f" ({date})" if date else "")
    blocks = [heading]
    if breaking:
        blocks.append(f"### {BREAKING_SECTION}\n\n" + "\n".join(breaking))
    for title in dict.fromkeys(titles.values()):
        if grouped.get(title):
            blocks.append(f"### {title}\n\n" + "\n".join(grouped[title]))
    if len(blocks) == 1:
        blocks.append("No notable changes.")
    return "\n\n".join(blocks) + "\n"


def render_changelog(
    *,
    version: str,
    commits: Iterable[SourceCommit],
    repo_url: str | None = None,
    date: str | None = None,
    policy: BumpPolicy | None = None,
) -> str:
    """The section for `version` from raw commits, counted as `policy` (default: the built-in one) counts them."""
    policy = policy or BumpPolicy()
    prepared = prepare_commits(commits, policy)
    return render_section(version=version, commits=prepared.parsed, policy=policy, repo_url=repo_url, date=date)
