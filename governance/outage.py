"""Which exceptions mean "the database is unreachable" (a 503 with Retry-After, not a 500)."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

RETRY_AFTER_SECONDS = 5
# SQLSTATE class 08 (connection exception) and the server shutting down or starting up; no SQLSTATE at all is a
# client-side failure to connect or a dropped connection. Other OperationalErrors (a statement timeout, a lock
# timeout, a deadlock) are real errors of one request and stay 500.
_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03")


def database_unavailable(exc: BaseException | None) -> bool:
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None)
    return state is None or state.startswith("08") or state in _UNAVAILABLE_STATES
