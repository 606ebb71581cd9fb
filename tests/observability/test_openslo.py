from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
import yaml

from observability.openslo import OpenSloError, dump_slos, load_slos, slo_to_document
from observability.slo_math import SliType, SloDefinition, default_slos


def seeded(environment: str = "production") -> list[SloDefinition]:
    return default_slos(environment, service="checkout")


def exported(slo_name: str) -> dict:
    slo = next(s for s in seeded() if s.name == slo_name)
    return slo_to_document(slo)


def load_one(document: dict) -> SloDefinition:
    (slo,) = load_slos(yaml.safe_dump(document))
    return slo


def error_for(document: dict) -> OpenSloError:
    with pytest.raises(OpenSloError) as caught:
        load_slos(yaml.safe_dump(document))
    return caught.value


@pytest.mark.parametrize("environment", ["production", "preview"])
def test_export_then_import__gives_equal_definitions(environment):
    slos = seeded(environment)
    assert load_slos(dump_slos(slos)) == slos


def test_round_trip_of_unusual_values__keeps_them_exactly():
    slo = SloDefinition(
        name="search-latency",
        display_name="Search: p99 < 1.2 s",
        description="Quoted 'text', a colon: and unicode ✓",
        sli_type=SliType.LATENCY,
        objective=Decimal("0.99995"),
        window=timedelta(days=28),
        min_events=0,
        environment="production",
        service="search",
        threshold_ms=1200,
    )
    assert load_slos(dump_slos([slo])) == [slo]


def test_export__follows_the_openslo_v1_slo_shape():
    document = exported("api-success")

    assert document["apiVersion"] == "openslo/v1"
    assert document["kind"] == "SLO"
    assert document["metadata"]["name"] == "api-success"
    assert document["spec"]["service"] == "checkout"
    assert document["spec"]["timeWindow"] == [{"duration": "7d", "isRolling": True}]
    assert document["spec"]["budgetingMethod"] == "Occurrences"
    assert document["spec"]["objectives"] == [{"target": 0.999}]
    assert set(document["spec"]["indicator"]["spec"]["ratioMetric"]) == {"counter", "good", "total"}


def test_export_of_availability__uses_one_minute_timeslices():
    document = exported("availability")

    assert document["spec"]["budgetingMethod"] == "Timeslices"
    assert document["spec"]["objectives"] == [{"target": 0.9995, "timeSliceTarget": 0.95, "timeSliceWindow": "1m"}]


def test_export_of_latency__is_a_threshold_metric_with_lte_objective():
    document = exported("api-latency")

    assert "thresholdMetric" in document["spec"]["indicator"]["spec"]
    assert document["spec"]["objectives"] == [{"op": "lte", "value": 300, "target": 0.95}]


def test_export_of_database_errors__counts_bad_over_total_in_24_hours():
    document = exported("database-errors")

    assert set(document["spec"]["indicator"]["spec"]["ratioMetric"]) == {"counter", "bad", "total"}
    assert document["spec"]["timeWindow"] == [{"duration": "1d", "isRolling": True}]


def test_handwritten_document_with_indicator_ref_and_target_percent__imports():
    text = """
apiVersion: openslo/v1
kind: Service
metadata:
  name: checkout
spec:
  description: The checkout service
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-success
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        type: GovernancePortal
        spec: {sli: request_success, series: good}
    total:
      metricSource:
        type: GovernancePortal
        spec: {sli: request_success, series: total}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-success-weekly
  labels:
    environment: preview
  annotations:
    governance.portal/min-events: "500"
spec:
  service: checkout
  indicatorRef: checkout-success
  timeWindow:
    - duration: 1w
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - targetPercent: 99.5
"""
    (slo,) = load_slos(text)

    assert slo == SloDefinition(
        name="checkout-success-weekly",
        sli_type=SliType.REQUEST_SUCCESS,
        objective=Decimal("0.995"),
        window=timedelta(days=7),
        min_events=500,
        environment="preview",
        service="checkout",
    )


def test_invalid_yaml__is_reported_with_its_line():
    with pytest.raises(OpenSloError, match=r"not valid YAML at line 3, column 20") as caught:
        load_slos("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}}\nspec: {}\n")
    assert caught.value.field == "<yaml>"


def test_missing_service__names_spec_service():
    document = exported("api-success")
    del document["spec"]["service"]

    error = error_for(document)
    assert error.field == "spec.service"
    assert "spec.service: required" in str(error)


def test_target_out_of_range__names_the_objective_target():
    document = exported("api-success")
    document["spec"]["objectives"][0]["target"] = 99.9

    error = error_for(document)
    assert error.field == "spec.objectives[0].target"
    assert "between 0 and 1" in str(error)


def test_non_numeric_target__names_the_objective_target():
    document = exported("api-success")
    document["spec"]["objectives"][0]["target"] = "high"
    assert error_for(document).field == "spec.objectives[0].target"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(apiVersion="openslo/v2alpha"), "apiVersion"),
        (lambda d: d["metadata"].update(name="API_Success"), "metadata.name"),
        (lambda d: d["metadata"]["labels"].pop("environment"), "metadata.labels.environment"),
        (lambda d: d["metadata"]["annotations"].update({"governance.portal/min-events": "-1"}), "metadata.annotations"),
        (lambda d: d["spec"].update(timeWindow=[{"duration": "1M", "isRolling": True}]), "spec.timeWindow[0].duration"),
        (
            lambda d: d["spec"].update(timeWindow=[{"duration": "seven", "isRolling": True}]),
            "spec.timeWindow[0].duration",
        ),
        (
            lambda d: d["spec"].update(
                timeWindow=[{"duration": "1M", "calendar": {"startTime": "2025-01-01 00:00:00", "timeZone": "UTC"}}]
            ),
            "spec.timeWindow[0].isRolling",
        ),
        (lambda d: d["spec"].update(timeWindow=[]), "spec.timeWindow"),
        (lambda d: d["spec"].update(budgetingMethod="Timeslices"), "spec.budgetingMethod"),
        (lambda d: d["spec"].update(budgetingMethod="Sometimes"), "spec.budgetingMethod"),
        (lambda d: d["spec"].update(objectives=[{"target": 0.9}, {"target": 0.99}]), "spec.objectives"),
        (lambda d: d["spec"].pop("indicator"), "spec.indicator"),
        (lambda d: d["spec"].update(indicatorRef="nowhere") or d["spec"].pop("indicator"), "spec.indicatorRef"),
        (
            lambda d: d["spec"]["indicator"]["spec"]["ratioMetric"]["good"]["metricSource"].update(type="Prometheus"),
            "spec.indicator.spec.ratioMetric.good.metricSource.type",
        ),
        (
            lambda d: d["spec"]["indicator"]["spec"]["ratioMetric"]["total"]["metricSource"]["spec"].update(sli="cpu"),
            "spec.indicator.spec.ratioMetric.total.metricSource.spec.sli",
        ),
    ],
)
def test_invalid_field__is_named_in_the_error(change, field):
    document = exported("api-success")
    change(document)

    error = error_for(document)
    assert error.field.startswith(field)
    assert str(error).startswith("document 1: " + field)


def test_latency_objective_without_lte__names_the_op():
    document = exported("api-latency")
    document["spec"]["objectives"][0]["op"] = "gte"
    assert error_for(document).field == "spec.objectives[0].op"


def test_availability_with_five_minute_slices__names_the_slice_window():
    document = exported("availability")
    document["spec"]["objectives"][0]["timeSliceWindow"] = "5m"
    assert error_for(document).field == "spec.objectives[0].timeSliceWindow"


def test_error_in_second_document__names_the_document():
    first, second = (slo_to_document(s) for s in seeded()[:2])
    del second["spec"]["objectives"][0]["target"]

    with pytest.raises(OpenSloError, match=r"^document 2: spec\.objectives\[0\]\.target: required"):
        load_slos(yaml.safe_dump_all([first, second]))


def test_duplicate_slo__is_rejected():
    slo = seeded()[0]
    with pytest.raises(OpenSloError, match="duplicate"):
        load_slos(dump_slos([slo, slo]))


def test_stream_without_slo__is_rejected():
    with pytest.raises(OpenSloError, match="no kind: SLO"):
        load_slos("apiVersion: openslo/v1\nkind: Service\nmetadata: {name: checkout}\nspec: {}\n")


def test_export_without_service__is_refused():
    with pytest.raises(OpenSloError, match="spec.service"):
        dump_slos([replace(seeded()[0], service="")])


def test_window_beyond_timedelta_range__names_the_duration():
    document = exported("api-success")
    document["spec"]["timeWindow"][0]["duration"] = "99999999999d"
    assert error_for(document).field == "spec.timeWindow[0].duration"


def test_huge_integer_slice_window__names_the_slice_window():
    document = exported("availability")
    document["spec"]["objectives"][0]["timeSliceWindow"] = 10**30
    assert error_for(document).field == "spec.objectives[0].timeSliceWindow"
