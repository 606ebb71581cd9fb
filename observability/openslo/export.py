"""Export: `SloDefinition`s as OpenSLO v1 `kind: SLO` documents (the mapping: the package docstring)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import yaml

from observability.openslo.schema import (
    ANNOTATION_EXCLUDE_MAINTENANCE,
    ANNOTATION_MIN_EVENTS,
    API_VERSION,
    LABEL_ENVIRONMENT,
    METRIC_SOURCE_TYPE,
    SLICE_WINDOW,
    OpenSloError,
    format_duration,
)
from observability.slo_math import DEFAULT_SLICE_ERROR_THRESHOLD, SliType, SloDefinition


def _metric(sli: SliType, series: str) -> dict[str, Any]:
    return {"metricSource": {"type": METRIC_SOURCE_TYPE, "spec": {"sli": sli.value, "series": series}}}


def _number(value: Decimal) -> int | float:
    # YAML has no decimal type; the shortest float repr of a Decimal with <= 15 significant
    # digits reads back to the same Decimal through str(), which import relies on.
    return int(value) if value == value.to_integral_value() else float(value)


def slo_to_document(slo: SloDefinition) -> dict[str, Any]:
    if not slo.service:
        raise OpenSloError("spec.service", "the SLO has no service; OpenSLO documents name the service they belong to")
    metadata: dict[str, Any] = {"name": slo.name}
    if slo.display_name:
        metadata["displayName"] = slo.display_name
    metadata["labels"] = {LABEL_ENVIRONMENT: slo.environment}
    # Annotation values are strings in OpenSLO (map[string]string); both are always written, so a round
    # trip restores the stored values rather than the defaults.
    metadata["annotations"] = {ANNOTATION_MIN_EVENTS: str(slo.min_events),
                               ANNOTATION_EXCLUDE_MAINTENANCE: "true" if slo.exclude_maintenance else "false"}

    objective: dict[str, Any] = {}
    if slo.sli_type is SliType.LATENCY:
        indicator_spec: dict[str, Any] = {"thresholdMetric": _metric(slo.sli_type, "latency_ms")}
        objective.update(op="lte", value=slo.threshold_ms)
    elif slo.sli_type is SliType.DATABASE_ERRORS:
        indicator_spec = {
            "ratioMetric": {
                "counter": False,
                "bad": _metric(slo.sli_type, "bad"),
                "total": _metric(slo.sli_type, "total"),
            }
        }
    else:
        indicator_spec = {
            "ratioMetric": {
                "counter": False,
                "good": _metric(slo.sli_type, "good"),
                "total": _metric(slo.sli_type, "total"),
            }
        }
    objective["target"] = _number(slo.objective)
    budgeting = "Occurrences"
    if slo.sli_type is SliType.AVAILABILITY:
        slice_threshold = slo.slice_error_threshold or DEFAULT_SLICE_ERROR_THRESHOLD
        budgeting = "Timeslices"
        objective.update(timeSliceTarget=_number(1 - slice_threshold), timeSliceWindow=SLICE_WINDOW)

    spec: dict[str, Any] = {}
    if slo.description:
        spec["description"] = slo.description
    spec.update(
        service=slo.service,
        indicator={"metadata": {"name": f"{slo.name}-sli"[:63].rstrip("-")}, "spec": indicator_spec},
        timeWindow=[{"duration": format_duration(slo.window), "isRolling": True}],
        budgetingMethod=budgeting,
        objectives=[objective],
    )
    return {"apiVersion": API_VERSION, "kind": "SLO", "metadata": metadata, "spec": spec}


def dump_slos(slos: Iterable[SloDefinition]) -> str:
    """A multi-document OpenSLO v1 YAML stream, one `kind: SLO` document per definition."""
    documents = [slo_to_document(slo) for slo in slos]
    return yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True, explicit_start=True)
