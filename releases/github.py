"""GitHub adapter (httpx; the token comes from GITHUB_TOKEN, read when used and never stored).

- `post_pr_comment`: the deploy summary as a pull-request comment.
- `GitHubClient`: reads for the compliance reviews: the organisation audit log (cursor pagination through the
  Link header), a repository's default branch, its branch protection and the rulesets that apply to a branch.
  Rate-limit aware: a page answered with a primary (X-RateLimit-Remaining 0) or secondary limit (Retry-After)
  is retried once after a bounded wait, else `RateLimited` says until when to stop; a refusal for scope
  (401/403/404 with GitHub's message) is `GitHubScopeError` with words an operator can act on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

PR_URL = re.compile(r"^https://github\.com/(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)/pull/(?P<number>\d+)/?$")
REPO_URL = re.compile(r"^https://github\.com/(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
API_URL = "https://api.github.com"
MAX_BODY = 65000  # GitHub refuses comments longer than 65,536 characters
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
           "User-Agent": "governance-portal"}
LINK = re.compile(r'<(?P<url>[^>]+)>;\s*rel="(?P<rel>[a-z]+)"')

# Tests replace this with an httpx.MockTransport (GitHub cannot be reached from here).
TRANSPORT: httpx.BaseTransport | None = None
# Tests replace this to record waits instead of sleeping.
SLEEP: Callable[[float], None] = time.sleep


class GitHubError(Exception):
    """GitHub could not be asked or refused; the message says why."""


class GitHubScopeError(GitHubError):
    """The token lacks the scope or permission (or the resource is hidden from it): an operator must act."""


class RateLimited(GitHubError):
    """A primary or secondary rate limit that would need a longer wait than allowed: stop, resume at `until`."""

    def __init__(self, message: str, *, until: datetime) -> None:
        super().__init__(message)
        self.until = until


def parse_pr_url(url: str) -> tuple[str, str, int]:
    match = PR_URL.match(url or "")
    if not match:
        raise GitHubError(f"{url!r} is not a GitHub pull request URL (https://github.com/OWNER/REPO/pull/N)")
    return match["owner"], match["repo"], int(match["number"])


def parse_repo_url(url: str) -> tuple[str, str] | None:
    """(owner, repo) of a https://github.com/OWNER/REPO URL; None for anything else (another forge, empty)."""
    match = REPO_URL.match(url or "")
    return (match["owner"], match["repo"]) if match else None


def post_pr_comment(*, pr_url: str, body: str, token: str, api_url: str = API_URL,
                    transport: httpx.BaseTransport | None = None) -> str:
    """Post `body` on the pull request; returns the comment's URL."""
    owner, repo, number = parse_pr_url(pr_url)
    if not token:
        raise GitHubError("GITHUB_TOKEN is not set: the portal cannot post to GitHub")
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 40] + "\n\n…(truncated; see the portal)\n"
    headers = {"Authorization": f"Bearer {token}", **HEADERS}
    try:
        with httpx.Client(base_url=api_url, timeout=15, transport=transport or TRANSPORT) as client:
            response = client.post(f"/repos/{owner}/{repo}/issues/{number}/comments", json={"body": body},
                                   headers=headers)
    except httpx.TransportError as exc:
        raise GitHubError(f"cannot reach GitHub: {exc.__class__.__name__}: {exc}") from None
    answer = _json_object(response)
    if response.status_code != 201:
        message = answer.get("message", "") if answer else response.text[:200]
        raise GitHubError(f"GitHub answered {response.status_code}: {message}")
    return str(answer.get("html_url", ""))  # posted; an answer without the URL leaves it unknown, not an error


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; {} for anything else (an HTML error page from a proxy, a list)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def next_cursor(link_header: str) -> str | None:
    """The `after` cursor of the Link header's rel="next" URL (GitHub's audit-log pagination); None at the end."""
    for match in LINK.finditer(link_header or ""):
        if match["rel"] == "next":
            values = parse_qs(urlsplit(match["url"]).query).get("after")
            return values[0] if values and values[0] else None
    return None


@dataclass
class AuditPage:
    events: list[dict[str, Any]]
    cursor: str | None  # the cursor this page was fetched with (None: the first page)
    next_cursor: str | None  # None: this was the last page for now


@dataclass
class GitHubClient:
    """Reads from GitHub's REST API with one token; `waited` lists the rate-limit waits taken (seconds)."""

    token: str
    api_url: str = API_URL
    max_wait_seconds: float = 60.0
    min_remaining: int = 0  # stop (RateLimited) when a successful answer leaves fewer requests than this
    transport: httpx.BaseTransport | None = None
    waited: list[float] = field(default_factory=list)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if not self.token:
            raise GitHubError("GITHUB_TOKEN is not set: the portal cannot read from GitHub")

    # --- the audit log -------------------------------------------------------------------------------
    def audit_log_pages(self, org: str, *, phrase: str = "", include: str = "web", cursor: str | None = None,
                        per_page: int = 100, max_pages: int = 50) -> Iterator[AuditPage]:
        """`GET /orgs/{org}/audit-log`, oldest first, from `cursor` on, following rel="next" (at most `max_pages`)."""
        for _ in range(max_pages):
            params: dict[str, str | int] = {"include": include, "order": "asc", "per_page": per_page}
            if phrase:
                params["phrase"] = phrase
            if cursor:
                params["after"] = cursor
            response = self._get(f"/orgs/{quote(org)}/audit-log", params=params,
                                 what=f"the audit log of organisation {org}")
            body = response.json()
            if not isinstance(body, list):
                raise GitHubError(f"GitHub's audit log answer is not a list of events: {str(body)[:200]}")
            following = next_cursor(response.headers.get("link", ""))
            yield AuditPage(events=[e for e in body if isinstance(e, dict)], cursor=cursor, next_cursor=following)
            if not following or following == cursor:
                return
            cursor = following

    # --- repositories and branches -------------------------------------------------------------------
    def default_branch(self, owner: str, repo: str) -> str:
        body = self._get(f"/repos/{quote(owner)}/{quote(repo)}", what=f"repository {owner}/{repo}").json()
        branch = body.get("default_branch") if isinstance(body, dict) else None
        if not branch:
            raise GitHubError(f"GitHub's answer for {owner}/{repo} names no default branch")
        return str(branch)

    def branch_protection(self, owner: str, repo: str, branch: str) -> dict[str, Any] | None:
        """The classic protection of the branch; None when the branch is not protected."""
        response = self._get(f"/repos/{quote(owner)}/{quote(repo)}/branches/{quote(branch, safe='')}/protection",
                             what=f"the protection of {owner}/{repo}@{branch}", not_protected_ok=True)
        if response.status_code == 404:
            return None
        body = response.json()
        return body if isinstance(body, dict) else {}

    def branch_rules(self, owner: str, repo: str, branch: str) -> list[dict[str, Any]]:
        """Every ruleset rule that applies to the branch (`GET /repos/{o}/{r}/rules/branches/{b}`)."""
        response = self._get(f"/repos/{quote(owner)}/{quote(repo)}/rules/branches/{quote(branch, safe='')}",
                             params={"per_page": 100}, what=f"the rulesets of {owner}/{repo}@{branch}")
        body = response.json()
        return [r for r in body if isinstance(r, dict)] if isinstance(body, list) else []

    def ruleset(self, owner: str, repo: str, ruleset_id: int) -> dict[str, Any]:
        body = self._get(f"/repos/{quote(owner)}/{quote(repo)}/rulesets/{int(ruleset_id)}",
                         what=f"ruleset {ruleset_id} of {owner}/{repo}").json()
        return body if isinstance(body, dict) else {}

    # --- one request ---------------------------------------------------------------------------------
    def _get(self, path: str, *, what: str, params: dict[str, Any] | None = None,
             not_protected_ok: bool = False) -> httpx.Response:
        for attempt in (1, 2):
            response = self._request(path, params)
            limit = self._rate_limit(response)
            if limit is not None:
                wait, message = limit
                if attempt == 1 and wait <= self.max_wait_seconds:
                    self.waited.append(wait)
                    SLEEP(wait)
                    continue
                raise RateLimited(f"{message} while reading {what}; resuming after the limit resets",
                                  until=self.now() + timedelta(seconds=max(wait, 1)))
            if response.status_code == 200:
                self._stop_before_the_limit(response, what)
                return response
            answer = _json_object(response)
            message = str(answer.get("message", "")) or response.text[:200]
            if response.status_code == 404 and not_protected_ok and "not protected" in message.lower():
                return response
            if response.status_code in (401, 403, 404):
                raise GitHubScopeError(_scope_message(response, what, message))
            raise GitHubError(f"GitHub answered {response.status_code} for {what}: {message}")
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _request(self, path: str, params: dict[str, Any] | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **HEADERS}
        try:
            with httpx.Client(base_url=self.api_url, timeout=20, transport=self.transport or TRANSPORT) as client:
                return client.get(path, params=params, headers=headers)
        except httpx.TransportError as exc:
            raise GitHubError(f"cannot reach GitHub: {exc.__class__.__name__}: {exc}") from None

    def _rate_limit(self, response: httpx.Response) -> tuple[float, str] | None:
        """(seconds to wait, what happened) when the answer is a rate limit, else None."""
        if response.status_code not in (403, 429):
            return None
        retry_after = response.headers.get("retry-after", "")
        if retry_after.isdigit():  # a secondary rate limit (or a primary one GitHub states this way)
            return float(retry_after), f"GitHub's secondary rate limit (Retry-After {retry_after} s)"
        if response.headers.get("x-ratelimit-remaining") == "0":
            return self._until_reset(response), "GitHub's rate limit is used up (X-RateLimit-Remaining 0)"
        message = str(_json_object(response).get("message", "")).lower()
        if "secondary rate limit" in message or "abuse" in message:
            return 60.0, "GitHub's secondary rate limit (no Retry-After: waiting at least a minute)"
        return None

    def _until_reset(self, response: httpx.Response) -> float:
        reset = response.headers.get("x-ratelimit-reset", "")
        if not reset.isdigit():
            return 60.0
        return max(float(reset) - self.now().timestamp(), 1.0)

    def _stop_before_the_limit(self, response: httpx.Response, what: str) -> None:
        remaining = response.headers.get("x-ratelimit-remaining", "")
        if self.min_remaining and remaining.isdigit() and int(remaining) < self.min_remaining:
            raise RateLimited(f"only {remaining} GitHub requests left in this window (after reading {what}); "
                              "stopping to leave room for the portal's other calls",
                              until=self.now() + timedelta(seconds=self._until_reset(response)))


def _scope_message(response: httpx.Response, what: str, message: str) -> str:
    """An operator-readable refusal: what was asked, GitHub's words, and what the token needs."""
    granted = response.headers.get("x-oauth-scopes")
    accepted = response.headers.get("x-accepted-oauth-scopes")
    needs = ("the audit log needs a classic token with scope read:audit_log (or a fine-grained token / GitHub "
             "App with the organisation permission \"Administration: read\"), an organisation owner's, on "
             "GitHub Enterprise Cloud") if "audit log" in what else (
             "branch protection and rulesets need a token with \"Administration: read\" on the repository "
             "(classic: repo scope, by an administrator of the repository)")
    parts = [f"GitHub refused to show {what} ({response.status_code}: {message or 'no message'})", needs]
    if granted is not None:
        parts.append(f"the token has scopes: {granted or 'none'}")
    if accepted:
        parts.append(f"GitHub accepts: {accepted}")
    return "; ".join(parts)
