"""Helpers of the API authorization matrices: every endpoint × every kind of caller → the expected status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

CALLERS = ("anonymous", "without_scope", "with_scope", "other_service", "expired", "revoked")


def expected_statuses(*, scope: str | None, ok: int, service_bound: bool = True) -> dict[str, int]:
    """What each caller of `api_callers` should get from an endpoint that needs `scope` (None: any token)."""
    return {
        "anonymous": 401,
        "without_scope": 403 if scope else ok,
        "with_scope": ok,
        "other_service": 403 if service_bound else ok,
        "expired": 401,
        "revoked": 401,
    }


def call(client: APIClient, method: str, path: str, body: Any = None) -> Any:
    """One request; a streamed answer is read to its end (it finishes the server-side cursor)."""
    response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)
    if response.streaming:
        response.body = b"".join(response.streaming_content)
    return response


def statuses(api: Callable[[str | None], APIClient], secrets: dict[str, str | None], method: str, path: str,
             body: Any = None, *, after_success: Callable[[Any], Any] | None = None) -> dict[str, int]:
    """Each caller's status for one request; every refusal must be problem JSON carrying its status.

    `after_success(body)` gives the body for the next caller once one succeeded (e.g. a new slug to create)."""
    seen = {}
    for caller, secret in secrets.items():
        response = call(api(secret), method, path, body)
        seen[caller] = response.status_code
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/problem+json", (caller, response.content)
            assert response.json()["status"] == response.status_code  # errors are never streamed
        elif after_success is not None:
            body = after_success(body)
    return seen
