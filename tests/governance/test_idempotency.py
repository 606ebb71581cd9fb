"""Idempotency-Key: a replay returns the first response; the same key with another body gets 422."""

import threading

import pytest
from django.db import connection

from governance.models import Service
from tests.concurrency import run_concurrently

BODY = {"slug": "search", "name": "Search", "reason": "onboarding"}


def test_replay__returns_the_first_response_and_acts_once(api, make_token):
    client = api(make_token("releases:write"))
    first = client.post("/api/v1/services", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/services", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Service.objects.filter(slug="search").count() == 1


def test_same_key_with_a_different_body__is_422(api, make_token):
    client = api(make_token("releases:write"))
    client.post("/api/v1/services", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = client.post("/api/v1/services", {**BODY, "slug": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]
    assert not Service.objects.filter(slug="other").exists()


def test_failed_request__is_not_remembered(api, make_token):
    client = api(make_token("releases:write"))
    bad = client.post("/api/v1/services", {**BODY, "slug": "Not A Slug"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert bad.status_code == 400 and "slug" in bad.json()["errors"]
    assert not Service.objects.filter(name="Search").exists()
    fixed = client.post("/api/v1/services", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert fixed.status_code == 201  # the client fixed its request and retried with the same key


def test_without_a_key__a_duplicate_is_a_clear_409(api, make_token):
    client = api(make_token("releases:write"))
    client.post("/api/v1/services", BODY, format="json")
    dup = client.post("/api/v1/services", BODY, format="json")
    assert dup.status_code == 409
    assert dup.json()["detail"] == "Service 'search' already exists."


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_retries__act_once(api, make_token):
    secret = make_token("releases:write")
    responses = run_concurrently(
        lambda: api(secret).post("/api/v1/services", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-5"), times=4)
    assert [r.status_code for r in responses] == [201] * 4
    assert Service.objects.filter(slug="search").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_registration_racing_another__is_409_not_500(api, make_token):
    """Another session inserts the same slug and commits while this request waits on the unique index."""
    import psycopg

    secret = make_token("releases:write")
    settings = connection.settings_dict
    other = psycopg.connect(dbname=settings["NAME"], host=settings["HOST"], port=settings["PORT"] or 5432,
                            user=settings["USER"])
    try:
        other.execute("INSERT INTO governance_service (slug, name, repository_url, owners, deploy_provider, "
                      "deploy_settings, created_at) "
                      "VALUES ('search', 'Search', '', '', 'record', '{}', now())")
        timer = threading.Timer(1.0, other.commit)  # the request's INSERT blocks on the index until then
        timer.start()
        response = api(secret).post("/api/v1/services", BODY, format="json")
        timer.join()
    finally:
        other.close()
    assert response.status_code == 409
    assert response.json()["detail"] == "Service 'search' already exists."
    assert Service.objects.filter(slug="search").count() == 1
