"""The optional Prometheus source: PromQL good/total over httpx, faked with httpx.MockTransport."""

from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from django.core.exceptions import ValidationError

from observability import prometheus, queries, services, slo_math
from observability.models import SloSnapshot

GOOD = 'sum(increase(http_requests_total{job="shop",code!~"5.."}[{window}]))'
TOTAL = 'sum(increase(http_requests_total{job="shop"}[{window}]))'


def _vector(value):
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1741608000, str(value)]}]}}


def _fake(per_minute_total=1000.0, error_ratio=0.0005, seen=None):
    """A Prometheus answering increase() over a range as a steady rate."""
    def handler(request: httpx.Request) -> httpx.Response:
        params = parse_qs(request.url.query.decode())
        query = params["query"][0]
        if seen is not None:
            seen.append((request.url.path, query))
        minutes = int(query.split("[")[1].split("m]")[0])
        total = per_minute_total * minutes
        if request.url.path == "/api/v1/query_range":
            start, end, step = float(params["start"][0]), float(params["end"][0]), int(params["step"][0][:-1])
            values = []
            stamp = start
            while stamp <= end:
                value = total if "code!~" not in query else total * (1 - error_ratio)
                values.append([stamp, str(value)])
                stamp += step
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {}, "values": values}]}})
        value = total * (1 - error_ratio) if "code!~" in query else total
        return httpx.Response(200, json=_vector(value + 0.4))  # extrapolated, not whole

    return httpx.MockTransport(handler)


@pytest.fixture
def prom_slo(service, production, system_user):
    slo = queries.slos_for_check().get(service=service, environment=production, name="api-success")
    return services.update_slo(slo=slo, source="prometheus", prometheus_good_query=GOOD, prometheus_total_query=TOTAL,
                               actor=system_user, reason="read from Prometheus")


def _client(transport):
    return prometheus.PrometheusClient("http://prometheus.invalid:9090", client=httpx.Client(transport=transport))


def test_window_counts__one_instant_query_per_window_and_side(prom_slo, now):
    seen: list[tuple[str, str]] = []
    statuses = queries.slo_statuses([prom_slo], now=now, prometheus_client=_client(_fake(seen=seen)))

    report = statuses[0].report
    assert report is not None
    # 7 days x 1,000/min = 10,080,000 requests, 0.05% failed: rounded to whole events.
    assert (report.good, report.total) == (10_074_960, 10_080_000)
    assert report.verdict is slo_math.Verdict.MET
    assert ("/api/v1/query", 'sum(increase(http_requests_total{job="shop"}[10080m]))') in seen
    assert len(seen) == 2 * len(slo_math.windows_needed(prom_slo.definition()))


def test_burndown__from_a_range_query(prom_slo, now):
    client = _client(_fake())
    statuses = queries.slo_statuses([prom_slo], now=now, prometheus_client=client)
    series = queries.burndown_series(statuses, prometheus_client=client)[prom_slo.pk]
    assert len(series) == 169 and series[0][1] == 1 and 0 < series[-1][1] < 1


@pytest.mark.parametrize("transport", [
    httpx.MockTransport(lambda r: httpx.Response(503, text="down")),
    httpx.MockTransport(lambda r: httpx.Response(400, json={"status": "error", "errorType": "bad_data",
                                                             "error": "parse error"})),
    httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused"))),
    httpx.MockTransport(lambda r: httpx.Response(200, json={"status": "success", "data": {}})),
    # Answers of the wrong shape (a proxy, another service on the port) are failures too, never a crash.
    httpx.MockTransport(lambda r: httpx.Response(200, json=["not", "an", "object"])),
    httpx.MockTransport(lambda r: httpx.Response(200, json={"status": "success", "data": ["x"]})),
    httpx.MockTransport(lambda r: httpx.Response(200, json={"status": "success", "data": {"result": [1]}})),
])
def test_prometheus_failure__no_figures_and_the_reason(prom_slo, now, transport):
    statuses = queries.slo_statuses([prom_slo], now=now, prometheus_client=_client(transport))
    assert statuses[0].report is None and statuses[0].error


def test_checker_without_prometheus_url__snapshot_records_why(prom_slo, now, settings):
    settings.PROMETHEUS_URL = ""
    services.run_slo_check(kind="manual", now=now, slo_ids=[prom_slo.pk])
    snapshot = SloSnapshot.objects.get(slo=prom_slo)
    assert "PROMETHEUS_URL is not set" in snapshot.error and snapshot.verdict == "insufficient_data"


def test_query_without_window_placeholder__is_refused(service, production, system_user):
    slo = queries.slos_for_check().get(service=service, environment=production, name="api-success")
    with pytest.raises(ValidationError) as exc:
        services.update_slo(slo=slo, source="prometheus", prometheus_good_query="sum(up)",
                            prometheus_total_query=TOTAL, actor=system_user, reason="x")
    assert "prometheus_good_query" in exc.value.message_dict


def test_availability_from_prometheus__is_refused(service, production, system_user):
    slo = queries.slos_for_check().get(service=service, environment=production, name="availability")
    with pytest.raises(ValidationError) as exc:
        services.update_slo(slo=slo, source="prometheus", prometheus_good_query=GOOD, prometheus_total_query=TOTAL,
                            actor=system_user, reason="x")
    assert "source" in exc.value.message_dict


def test_render__keeps_promql_braces_and_fills_the_range():
    assert prometheus.render(GOOD, timedelta(hours=1)) == \
        'sum(increase(http_requests_total{job="shop",code!~"5.."}[60m]))'
    assert prometheus.clamp(10.6, 10.2) == (10, 10)


@pytest.mark.parametrize("values", [5, [5], [[1, "2", 3]], [["t", "1"]]])
def test_range_answer_of_the_wrong_shape__is_a_prometheus_error(values, now):
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"status": "success", "data": {
        "resultType": "matrix", "result": [{"metric": {}, "values": values}]}}))
    with pytest.raises(prometheus.PrometheusError):
        _client(transport).range("up", now, now, timedelta(minutes=1))
