"""The audited base model and the guard that keeps bulk writes from skipping history.

django-simple-history records nothing for `queryset.update()` or a plain `bulk_create`
(simple-history#174, #309). On audited models those calls are refused unless the caller is a
service that records history itself and says so with `history_recorded_by_caller()`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import models
from simple_history.models import HistoricalRecords

_bulk_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("bulk_allowed", default=False)


class BulkWriteRefused(RuntimeError):
    """A bulk write would have changed audited rows without history."""


@contextlib.contextmanager
def history_recorded_by_caller() -> Iterator[None]:
    """Allow bulk writes on audited models inside a service that writes history (or telemetry)."""
    token = _bulk_allowed.set(True)
    try:
        yield
    finally:
        _bulk_allowed.reset(token)


def _refuse(model: type[models.Model], operation: str) -> None:
    if not _bulk_allowed.get():
        raise BulkWriteRefused(
            f"{operation}() on {model._meta.label} would skip the audit trail; "
            "change rows through a service (or bulk_update_with_history inside history_recorded_by_caller())"
        )


class AuditedQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        _refuse(self.model, "update")
        return super().update(**kwargs)

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        _refuse(self.model, "bulk_create")
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> int:
        _refuse(self.model, "bulk_update")
        return super().bulk_update(objs, *args, **kwargs)


class Audited(models.Model):
    """Base of every governed model: history with actor and reason, and no silent bulk writes."""

    # A text column: simple-history's default varchar(100) would turn a long reason into a 500.
    history = HistoricalRecords(inherit=True, history_change_reason_field=models.TextField(null=True))
    objects = AuditedQuerySet.as_manager()

    _history_user: object | None
    _change_reason: str | None

    class Meta:
        abstract = True

    def stamp(self, *, actor: object, reason: str) -> None:
        """Attach who and why to the next save's history record."""
        self._history_user = actor
        self._change_reason = reason
