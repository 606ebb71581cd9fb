"""GitHub adapter: post the deploy summary as a pull-request comment (httpx; the token comes from GITHUB_TOKEN)."""

from __future__ import annotations

import re
from typing import Any

import httpx

PR_URL = re.compile(r"^https://github\.com/(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)/pull/(?P<number>\d+)/?$")
API_URL = "https://api.github.com"
MAX_BODY = 65000  # GitHub refuses comments longer than 65,536 characters

# Tests replace this with an httpx.MockTransport (GitHub cannot be reached from here).
TRANSPORT: httpx.BaseTransport | None = None


class GitHubError(Exception):
    """The comment could not be posted; the message says why."""


def parse_pr_url(url: str) -> tuple[str, str, int]:
    match = PR_URL.match(url or "")
    if not match:
        raise GitHubError(f"{url!r} is not a GitHub pull request URL (https://github.com/OWNER/REPO/pull/N)")
    return match["owner"], match["repo"], int(match["number"])


def post_pr_comment(*, pr_url: str, body: str, token: str, api_url: str = API_URL,
                    transport: httpx.BaseTransport | None = None) -> str:
    """Post `body` on the pull request; returns the comment's URL."""
    owner, repo, number = parse_pr_url(pr_url)
    if not token:
        raise GitHubError("GITHUB_TOKEN is not set: the portal cannot post to GitHub")
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 40] + "\n\n…(truncated; see the portal)\n"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "governance-portal"}
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
