"""Idempotency-Key for POSTs from CI: a replay returns the first response; a different body gets 422.

The record is inserted in the same transaction as the view's writes, so a concurrent duplicate
waits on the unique index and then replays; a failed first attempt leaves nothing behind.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from governance.api.errors import Unprocessable
from governance.models import ApiToken, IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise Unprocessable(
            f"Idempotency-Key '{record.key}' was already used with a different request; use a new key."
        )
    response = Response(record.response_body, status=record.status_code)
    response[REPLAY_HEADER] = "true"
    return response


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        token = request.auth
        if not key or not isinstance(token, ApiToken):
            return view_method(self, request, *args, **kwargs)
        if len(key) > 200:
            raise Unprocessable("Idempotency-Key must be at most 200 characters.")
        fingerprint = _fingerprint(request)
        existing = IdempotencyRecord.objects.filter(token=token, key=key, status_code__isnull=False).first()
        if existing:
            return _replay(existing, fingerprint)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        token=token, key=key, method=request.method, path=request.path[:500], fingerprint=fingerprint
                    )
            except IntegrityError:
                record = None  # a concurrent request with this key committed first (the insert waited for it)
            if record is None:
                return _replay(IdempotencyRecord.objects.get(token=token, key=key), fingerprint)
            response = view_method(self, request, *args, **kwargs)
            if response.status_code >= 400:
                # Errors are not kept: the client may fix the request and retry with the same key.
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.response_body = json.loads(json.dumps(response.data, cls=JSONEncoder))
            record.save(update_fields=["status_code", "response_body"])
            return response

    return wrapper
