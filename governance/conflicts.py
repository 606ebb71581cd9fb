"""The one domain conflict: a request that contradicts what is recorded now (a duplicate, a stale revision, a
target busy with another deployment). Services raise it; the API's exception handler (governance.api.errors)
answers it as a 409 problem, the admin shows its message like any ValidationError."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


class Conflict(ValidationError):
    """`code` becomes the problem type's last segment; `details` are extra members of the 409 body."""

    def __init__(self, message: str, *, code: str = "conflict", **details: Any) -> None:
        super().__init__(message, code=code)
        self.problem_code = code
        self.details = details

    def __str__(self) -> str:  # the message itself, not ValidationError's "['message']"
        return "; ".join(self.messages)
