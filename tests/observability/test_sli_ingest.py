"""POST /api/v1/sli: validated per-minute points, replaced (never added) on retry, 10,000 at most."""

from datetime import timedelta

import pytest
from django.utils import timezone

from observability.models import SliPoint


@pytest.fixture
def sli_client(api, make_token):
    return api(make_token("sli:write"))


def _minute(ago: int = 1):
    return (timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=ago))


def _body(points, **extra):
    return {"service": "shop", "environment": "production", "points": points, **extra}


def _point(ago=1, **fields):
    return {"minute": _minute(ago).isoformat(), "total": 100, "errors": 2,
            "latency_buckets": {"100": 60, "300": 95, "1000": 99}, "db_queries": 40, "db_errors": 1, **fields}


def test_valid_points__are_stored_per_minute(sli_client, service, production):
    response = sli_client.post("/api/v1/sli", _body([_point(1), _point(2, total=5, errors=0, latency_buckets={})]),
                               format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"accepted": 2, "created": 2, "replaced": 0}
    row = SliPoint.objects.get(minute=_minute(1))
    assert (row.total, row.errors, row.db_queries, row.db_errors, row.source) == (100, 2, 40, 1, "default")
    assert (row.latency_bounds, row.latency_counts) == ([100.0, 300.0, 1000.0], [60, 95, 99])


def test_retry__replaces_the_minute_instead_of_adding(sli_client, service, production):
    sli_client.post("/api/v1/sli", _body([_point(1)]), format="json")

    response = sli_client.post("/api/v1/sli", _body([_point(1, total=120, errors=3)]), format="json")

    assert response.json() == {"accepted": 1, "created": 0, "replaced": 1}
    assert list(SliPoint.objects.values_list("total", "errors")) == [(120, 3)]


def test_sources__are_stored_side_by_side(sli_client, service, production):
    sli_client.post("/api/v1/sli", _body([_point(1)], source="lb-1"), format="json")
    sli_client.post("/api/v1/sli", _body([_point(1)], source="lb-2"), format="json")
    assert SliPoint.objects.count() == 2


def test_more_than_ten_thousand_points__400_says_split(sli_client, service, production):
    points = [{"minute": _minute(1 + i).isoformat(), "total": 1} for i in range(10_001)]

    response = sli_client.post("/api/v1/sli", _body(points), format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "at most 10,000 points per request, got 10,001" in response.json()["detail"]
    assert "split" in response.json()["detail"]
    assert not SliPoint.objects.exists()


def test_exactly_ten_thousand_points__are_accepted(sli_client, service, production):
    points = [{"minute": _minute(1 + i).isoformat(), "total": 3, "errors": 1} for i in range(10_000)]
    response = sli_client.post("/api/v1/sli", _body(points), format="json")
    assert response.status_code == 200 and response.json()["created"] == 10_000


@pytest.mark.parametrize(("point", "message"), [
    (_point(1, errors=101), "points[0].errors: 101 exceeds total 100"),
    (_point(1, db_errors=41), "points[0].db_errors: 41 exceeds db_queries 40"),
    (_point(1, minute=(timezone.now().replace(second=7, microsecond=0)).isoformat()), "aligned to a whole minute"),
    (_point(1, minute="2025-03-10T12:00:00"), "time zone"),
    (_point(1, minute="yesterday"), "ISO 8601"),
    (_point(-30), "in the future"),
    (_point(60 * 24 * 40), "older than the retention"),
    (_point(1, latency_buckets={"100": 90, "300": 80}), "must not decrease"),
    (_point(1, latency_buckets={"100": 101}), "exceeds total 100"),
    (_point(1, latency_buckets={"fast": 1}), "numbers of milliseconds"),
    (_point(1, latency_buckets={"+Inf": 99}), "+Inf bucket must equal total"),
    (_point(1, total=-1), "whole number >= 0"),
    (_point(1, total=True), "whole number >= 0"),
    (_point(1, total="100"), "whole number >= 0"),
    (_point(1, colour="red"), "unknown field"),
    ({"minute": _minute(1).isoformat()}, "minute and total are required"),
    ("a string", "must be an object"),
])
def test_invalid_point__400_names_the_point_and_field(sli_client, service, production, point, message):
    response = sli_client.post("/api/v1/sli", _body([point]), format="json")

    assert response.status_code == 400, response.content
    assert message in response.json()["detail"], response.json()
    assert not SliPoint.objects.exists()


def test_same_minute_twice_in_one_request__400(sli_client, service, production):
    response = sli_client.post("/api/v1/sli", _body([_point(1), _point(1, errors=0)]), format="json")
    assert response.status_code == 400
    assert "points[1].minute" in response.json()["detail"] and "already given by points[0]" in response.json()["detail"]


def test_one_bad_point__nothing_is_written(sli_client, service, production):
    response = sli_client.post("/api/v1/sli", _body([_point(1), _point(2, errors=500)]), format="json")
    assert response.status_code == 400 and not SliPoint.objects.exists()


@pytest.mark.parametrize("body", [
    {"service": "shop", "environment": "production", "points": []},
    {"service": "shop", "environment": "production", "points": "many"},
    {"service": "shop", "environment": "production"},
    {"service": "shop", "environment": "production", "points": [], "source": "portal:evil"},
    {"service": "shop", "environment": "production", "points": [_point(1)], "source": "portal:x"},
    {"service": "shop", "environment": "production", "points": [_point(1)], "source": "has spaces"},
    {"service": "nope", "environment": "production", "points": [_point(1)]},
    {"service": "shop", "environment": "moon", "points": [_point(1)]},
    [1, 2, 3],
    "text",
])
def test_malformed_body__is_a_400_never_a_500(sli_client, service, production, body):
    response = sli_client.post("/api/v1/sli", body, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"


def test_unknown_service__400_names_the_field(sli_client, service, production):
    response = sli_client.post("/api/v1/sli", _body([_point(1)], service="ghost"), format="json")
    assert response.json()["errors"]["service"] == ["No service 'ghost'."]


def test_idempotency_key__replays_the_first_answer(sli_client, service, production):
    first = sli_client.post("/api/v1/sli", _body([_point(1)]), format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    again = sli_client.post("/api/v1/sli", _body([_point(1)]), format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.json() == again.json() == {"accepted": 1, "created": 1, "replaced": 0}
    assert again["Idempotent-Replayed"] == "true"


def test_token_for_other_environments__403(api, make_token, service, production, preview):
    secret = make_token("sli:write", environments=[preview])
    response = api(secret).post("/api/v1/sli", _body([_point(1)]), format="json")
    assert response.status_code == 403 and "environments" in response.json()["detail"]
