"""The CLI's error type, kept apart from the HTTP client so offline commands start without importing httpx."""

from __future__ import annotations


class GovctlError(Exception):
    """An error the CLI prints as one clear line and turns into a non-zero exit."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
