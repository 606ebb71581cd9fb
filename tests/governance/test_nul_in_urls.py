"""A NUL byte in the URL is refused with 400 before any view: PostgreSQL could not compare it (a 500)."""

import pytest
from django.urls import reverse

from flags import delivery

SNAPSHOT = "/api/v1/flags/snapshot"


@pytest.mark.parametrize("url", [
    "/api/v1/flags/snapshot?service=sh%00op&environment=production",
    "/api/v1/services/shop/releases/1.0.0%00",
    "/api/v1/schema-plans/%00",
    "/ofrep/v1/evaluate/flags/new%00checkout",
])
def test_api_url_with_a_nul_byte__is_a_400_problem(api, make_token, url):
    response = api(make_token("flags:read")).get(url)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"].startswith("The URL holds a NUL byte (%00)")


def test_nul_in_a_snapshot_poll__leaves_the_shared_cache_in_use(api, make_token, service):
    client = api(make_token("flags:read"))
    client.get(SNAPSHOT, {"service": "shop", "environment": "production"})
    assert client.get(SNAPSHOT, {"service": "sh\x00op", "environment": "production"}).status_code == 400
    delivery._memory.clear()  # a fresh worker process: the shared cache answers (its circuit was not tripped)
    delivery._final.clear()
    assert client.get(SNAPSHOT, {"service": "shop", "environment": "production"})["X-Flags-Source"] == "cache"


@pytest.mark.parametrize("query", [{"status__exact": "\x00"}, {"q": "a\x00b"}])
def test_admin_filter_with_a_nul_byte__is_a_400_page(client, make_user, query):
    client.force_login(make_user("sudo", superuser=True))
    response = client.get(reverse("admin:releases_release_changelist"), query)
    assert response.status_code == 400


def test_admin_object_id_with_a_nul_byte__is_a_400_page(client, make_user):
    client.force_login(make_user("sudo", superuser=True))
    assert client.get(reverse("admin:releases_release_change", args=["\x00"])).status_code == 400
