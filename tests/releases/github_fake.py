"""A fake GitHub behind httpx.MockTransport, answering with the documented shapes in tests/data/github/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

DATA = Path(__file__).resolve().parents[1] / "data" / "github"
Handler = Callable[[httpx.Request], httpx.Response]


def shape(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def page(events: list[dict[str, Any]], *, next_after: str | None = None, remaining: int = 4999,
         reset: int = 1_900_000_000) -> httpx.Response:
    headers = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(remaining),
               "X-RateLimit-Reset": str(reset)}
    if next_after:
        headers["Link"] = (f'<https://api.github.com/organizations/9001/audit-log?after={next_after}&before=>; '
                           'rel="next"')
    return httpx.Response(200, json=events, headers=headers)


def refused(status: int, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={
        "message": message, "documentation_url": "https://docs.github.com/rest", "status": str(status)})


class FakeGitHub:
    """Routes by path; each route answers from a list (the last answer repeats). Records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, list[httpx.Response | Handler]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, path: str, *answers: httpx.Response | Handler) -> FakeGitHub:
        self.routes[path] = list(answers)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answers = self.routes.get(request.url.path)
        if not answers:
            return refused(404, "Not Found")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request) if callable(answer) else answer

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def params(self, path: str) -> list[dict[str, str]]:
        return [dict(r.url.params) for r in self.requests if r.url.path == path]
