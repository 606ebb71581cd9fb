"""The SLOs seeded for every service in every environment, and the rules that size them."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from observability.slo_math.definitions import DEFAULT_SLICE_ERROR_THRESHOLD, SliType, SloDefinition


def minimum_events_for(objective: Decimal) -> int:
    """The smallest event count whose error budget holds at least one bad event: ceil(1 / (1 - objective))."""
    return math.ceil(1 / (1 - Fraction(objective)))


def latency_threshold_ms(environment_slug: str) -> int:
    # Production is held to the user-facing target; preview (and anything not production) runs on
    # smaller, colder infrastructure, so the issue grants it 400 ms.
    return 300 if environment_slug == "production" else 400


def default_slos(environment_slug: str, *, service: str = "") -> list[SloDefinition]:
    """The four SLOs seeded for every service in one environment."""
    success, latency, db, availability = (Decimal("0.999"), Decimal("0.95"), Decimal("0.999"), Decimal("0.9995"))
    threshold = latency_threshold_ms(environment_slug)
    return [
        SloDefinition(
            name="api-success",
            display_name="API success ratio",
            description="Share of API requests that do not fail with a server error.",
            sli_type=SliType.REQUEST_SUCCESS,
            objective=success,
            window=timedelta(days=7),
            min_events=minimum_events_for(success),
            environment=environment_slug,
            service=service,
        ),
        SloDefinition(
            name="api-latency",
            display_name=f"API latency p95 <= {threshold} ms",
            description=f"At least 95% of requests complete in {threshold} ms or less.",
            sli_type=SliType.LATENCY,
            objective=latency,
            window=timedelta(days=7),
            min_events=minimum_events_for(latency),
            environment=environment_slug,
            service=service,
            threshold_ms=threshold,
        ),
        SloDefinition(
            name="database-errors",
            display_name="Database error rate < 0.1%",
            description="Share of database queries that succeed.",
            sli_type=SliType.DATABASE_ERRORS,
            objective=db,
            window=timedelta(hours=24),
            min_events=minimum_events_for(db),
            environment=environment_slug,
            service=service,
        ),
        SloDefinition(
            name="availability",
            display_name="Availability (one-minute slices)",
            description="Share of one-minute slices in which fewer than 5% of requests failed.",
            sli_type=SliType.AVAILABILITY,
            objective=availability,
            window=timedelta(days=7),
            min_events=minimum_events_for(availability),
            environment=environment_slug,
            service=service,
            slice_error_threshold=DEFAULT_SLICE_ERROR_THRESHOLD,
        ),
    ]
