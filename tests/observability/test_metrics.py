"""GET /metrics: Prometheus text a real parser reads, with the series the Grafana dashboard uses; scraping is
limited to allowed networks or a valid API token."""

from prometheus_client.parser import text_string_to_metric_families

from observability import services, slo_math
from status import services as status_services
from tests.observability.conftest import steady


def _families(content: bytes) -> dict:
    return {f.name: f for f in text_string_to_metric_families(content.decode())}


def test_scrape_from_loopback__series_for_slos_status_and_queue(
        client, service, production, write_points, now, system_user, operator):
    write_points(service, production, steady(slo_math.window_end(now), 120, total=100, errors=1))
    services.run_slo_check(kind="hourly", now=now)
    status_services.open_incident(service=service, name="x", body="y", impact="major", actor=operator, reason="r")

    response = client.get("/metrics")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain; version=")
    families = _families(response.content)
    budget = {(s.labels["service"], s.labels["environment"], s.labels["slo"]): s.value
              for s in families["governance_slo_budget_remaining_ratio"].samples}
    assert budget[("shop", "production", "api-success")] < 0  # 1% errors against a 99.9% objective: overspent
    assert [s.value for s in families["governance_status_incidents_open"].samples
            if s.labels == {"impact": "major"}] == [1.0]
    assert families["governance_queue_depth"].samples[0].value >= 0
    assert "governance_drill_last_age_seconds" in families and "governance_deployments" in families


def test_scrape_from_elsewhere__403_unless_a_valid_token(client, make_token, db):
    outside = {"REMOTE_ADDR": "203.0.113.9"}

    assert client.get("/metrics", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer gov_nope_x", **outside).status_code == 403
    token = make_token("flags:read")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}", **outside).status_code == 200


def test_grafana_dashboard__uses_only_series_the_endpoint_serves(client, db):
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs/grafana/governance-portal.json").read_text())
    used = {name for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"governance_[a-z_]+", target["expr"])}
    families = _families(client.get("/metrics").content)  # an empty family still declares itself
    # a counter's family is "x", its samples (what PromQL names) "x_total"
    served = set(families) | {f"{name}_total" for name, f in families.items() if f.type == "counter"}

    assert used and used <= served, used - served
