"""Per-token throttling counts on the shared cache (the database cache here), answered as problem JSON."""

import pytest
from django.core.cache import cache

from governance.api.throttling import TokenRateThrottle


@pytest.fixture
def tight_rate(monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    cache.clear()
    yield
    cache.clear()


def test_over_the_rate__is_429_per_token(api, make_token, tight_rate):
    first, second = make_token("flags:read"), make_token("flags:read")
    codes = [api(first).get("/api/v1/whoami").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    blocked = api(first).get("/api/v1/whoami")
    assert blocked.json()["title"] == "Too many requests" and "Retry-After" in blocked
    assert api(second).get("/api/v1/whoami").status_code == 200  # another token has its own budget


def test_throttle_state__lives_in_the_shared_database_cache(api, make_token, tight_rate, settings):
    from django.db import connection

    assert settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
    api(make_token("flags:read")).get("/api/v1/whoami")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM portal_cache WHERE cache_key LIKE %s", ["%throttle_token_token-%"])
        assert cursor.fetchone()[0] == 1
