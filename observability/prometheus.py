"""An optional SLI source: good and total event counts from Prometheus over its HTTP API (httpx).

An SLO with `source = prometheus` carries two PromQL templates in which `{window}` is replaced by
a range such as `60m` (PromQL's own braces are left alone), e.g.

    good:  sum(increase(http_requests_total{job="shop",code!~"5.."}[{window}]))
    total: sum(increase(http_requests_total{job="shop"}[{window}]))

`increase()` is extrapolated by Prometheus and so not an integer: counts are rounded to the nearest
event and clamped to 0 <= good <= total before the exact budget maths runs on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

import httpx

PLACEHOLDER = "{window}"


class PrometheusError(Exception):
    """Prometheus could not answer (unreachable, HTTP error, a query error or an unexpected shape)."""


def promql_duration(delta: timedelta) -> str:
    minutes = int(delta / timedelta(minutes=1))
    if minutes <= 0 or delta % timedelta(minutes=1):
        raise ValueError(f"window must be a positive whole number of minutes, got {delta!r}")
    return f"{minutes}m"


def render(template: str, window: timedelta) -> str:
    if PLACEHOLDER not in template:
        raise ValueError(f"the query must contain {PLACEHOLDER} where the range goes, got {template!r}")
    return template.replace(PLACEHOLDER, promql_duration(window))


class PrometheusClient:
    def __init__(self, base_url: str, *, client: httpx.Client | None = None, timeout: float = 10.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise PrometheusError(f"PROMETHEUS_URL must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout)

    def _get(self, path: str, params: dict[str, str]) -> list[dict]:
        try:
            response = self._client.get(f"{self.base_url}{path}", params=params)
        except httpx.HTTPError as exc:
            raise PrometheusError(f"Prometheus unreachable: {type(exc).__name__}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(f"Prometheus answered HTTP {response.status_code} without JSON") from None
        if not isinstance(body, dict):
            raise PrometheusError(f"Prometheus answered HTTP {response.status_code} with JSON that is not an object")
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(f"Prometheus query failed (HTTP {response.status_code}): "
                                  f"{body.get('errorType', '')} {body.get('error', '')}".strip())
        data = body.get("data")
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, list) or not all(isinstance(series, dict) for series in result):
            raise PrometheusError("Prometheus answered without a result list of series")
        return result

    def instant(self, query: str, at: datetime) -> float:
        """The sum of an instant vector at `at` (an empty vector is 0: no events)."""
        total = 0.0
        for series in self._get("/api/v1/query", {"query": query, "time": f"{at.timestamp():.3f}"}):
            total += _sample(series.get("value"))
        return total

    def range(self, query: str, start: datetime, end: datetime, step: timedelta) -> dict[float, float]:
        """{unix time: summed value} of a range query."""
        sums: dict[float, float] = {}
        params = {"query": query, "start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}",
                  "step": f"{int(step.total_seconds())}s"}
        for series in self._get("/api/v1/query_range", params):
            values = series.get("values") or []
            if not isinstance(values, list):
                raise PrometheusError(f"unexpected values {values!r}")
            for value in values:
                number = _sample(value)
                stamp = _number(value[0], "timestamp")
                sums[stamp] = sums.get(stamp, 0.0) + number
        return sums

    def window_counts(self, good_query: str, total_query: str, windows: Iterable[timedelta],
                      end: datetime) -> dict[timedelta, tuple[int, int]]:
        """(good, total) over `[end - window, end)` for each window: two instant queries per window."""
        counts = {}
        for window in windows:
            good = self.instant(render(good_query, window), end)
            total = self.instant(render(total_query, window), end)
            counts[window] = clamp(good, total)
        return counts

    def bucket_counts(self, good_query: str, total_query: str, start: datetime, end: datetime,
                      step: timedelta) -> list[tuple[datetime, int, int]]:
        """(bucket start, good, total) per `step` between start and end, for the burn-down chart."""
        first = start + step
        good = self.range(render(good_query, step), first, end, step)
        total = self.range(render(total_query, step), first, end, step)
        rows = []
        for stamp in sorted(set(good) | set(total)):
            g, t = clamp(good.get(stamp, 0.0), total.get(stamp, 0.0))
            rows.append((datetime.fromtimestamp(stamp, tz=start.tzinfo) - step, g, t))
        return rows


def _number(value: object, what: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]  # anything float() refuses is reported below
    except (TypeError, ValueError):
        raise PrometheusError(f"unexpected sample {what} {value!r}") from None


def _sample(value: object) -> float:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise PrometheusError(f"unexpected sample {value!r}")
    number = _number(value[1], "value")
    return number if math.isfinite(number) else 0.0


def clamp(good: float, total: float) -> tuple[int, int]:
    total_events = max(0, round(total))
    return min(max(0, round(good)), total_events), total_events
