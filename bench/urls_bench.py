"""The product's URLs plus two baselines for bench/snapshot_http.py (never part of the product).

- /bench/bare: a plain Django view returning a constant JSON body (BENCH_BODY_FILE: the snapshot's
  own bytes, so the size is the same) with a constant ETag and 304 on If-None-Match;
- /bench/bare-auth: the same constant body behind the flag endpoints' DRF stack (token
  authentication, scope check, throttle), to separate the cost of auth from the cost of the snapshot.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request

from flags.api.views import FlagDeliveryApi
from governance.urls import urlpatterns as product

BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes() if os.environ.get("BENCH_BODY_FILE") else b"{}"
ETAG = f'"{hashlib.sha256(BODY).hexdigest()[:40]}"'
HEADERS = {"ETag": ETAG, "Cache-Control": "max-age=300"}


def _constant(request: HttpRequest) -> HttpResponse:
    if request.headers.get("If-None-Match") == ETAG:
        return HttpResponse(status=304, headers=HEADERS)
    return HttpResponse(BODY, content_type="application/json", headers=HEADERS)


def bare(request: HttpRequest) -> HttpResponse:
    return _constant(request)


class BareAuthApi(FlagDeliveryApi):
    schema = None

    def get(self, request: Request) -> HttpResponse:
        return _constant(request)


# After the product's patterns: the baselines pay a full URL resolution, as the snapshot does.
urlpatterns = [
    *product,
    path("bench/bare", bare),
    path("bench/bare-auth", BareAuthApi.as_view()),
]
