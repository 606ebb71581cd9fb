"""Import: OpenSLO v1 YAML streams into `SloDefinition`s; every error names the offending field's path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from observability.openslo.schema import (
    ANNOTATION_EXCLUDE_MAINTENANCE,
    ANNOTATION_MIN_EVENTS,
    API_VERSION,
    LABEL_ENVIRONMENT,
    METRIC_SOURCE_TYPE,
    OpenSloError,
    parse_duration,
)
from observability.slo_math import SliType, SloDefinition

_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _require(mapping: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in mapping or mapping[key] is None:
        raise OpenSloError(f"{path}.{key}" if path else key, "required")
    return mapping[key]


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise OpenSloError(path, f"must be a mapping, got {type(value).__name__}")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OpenSloError(path, f"must be a non-empty string, got {value!r}")
    return value


def _decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise OpenSloError(path, f"must be a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise OpenSloError(path, f"must be a number, got {value!r}") from None
    if not number.is_finite():
        raise OpenSloError(path, f"must be a finite number, got {value!r}")
    return number


def _metric_sli(metric: Any, path: str) -> SliType:
    source = _mapping(_require(_mapping(metric, path), "metricSource", path), f"{path}.metricSource")
    kind = source.get("type")
    if kind != METRIC_SOURCE_TYPE:
        raise OpenSloError(f"{path}.metricSource.type", f"must be {METRIC_SOURCE_TYPE!r}, got {kind!r}")
    spec = _mapping(_require(source, "spec", f"{path}.metricSource"), f"{path}.metricSource.spec")
    raw = _require(spec, "sli", f"{path}.metricSource.spec")
    try:
        return SliType(raw)
    except ValueError:
        raise OpenSloError(
            f"{path}.metricSource.spec.sli", f"must be one of {[t.value for t in SliType]}, got {raw!r}"
        ) from None


def _indicator_sli(indicator: Any, path: str) -> SliType:
    indicator = _mapping(indicator, path)
    spec = _mapping(_require(indicator, "spec", path), f"{path}.spec")
    if "thresholdMetric" in spec and "ratioMetric" in spec:
        raise OpenSloError(f"{path}.spec", "give either thresholdMetric or ratioMetric, not both")
    if "thresholdMetric" in spec:
        sli = _metric_sli(spec["thresholdMetric"], f"{path}.spec.thresholdMetric")
        if sli is not SliType.LATENCY:
            raise OpenSloError(f"{path}.spec.thresholdMetric", f"only the latency SLI is a threshold metric, got {sli}")
        return sli
    if "ratioMetric" not in spec:
        raise OpenSloError(f"{path}.spec", "one of thresholdMetric or ratioMetric is required")
    ratio_path = f"{path}.spec.ratioMetric"
    ratio = _mapping(spec["ratioMetric"], ratio_path)
    if "raw" in ratio:
        raise OpenSloError(f"{ratio_path}.raw", "precomputed ratios cannot give exact budgets; use good/bad and total")
    if ("good" in ratio) == ("bad" in ratio):
        raise OpenSloError(ratio_path, "exactly one of good or bad is required")
    numerator = "good" if "good" in ratio else "bad"
    sli = _metric_sli(ratio[numerator], f"{ratio_path}.{numerator}")
    total_sli = _metric_sli(_require(ratio, "total", ratio_path), f"{ratio_path}.total")
    if total_sli is not sli:
        raise OpenSloError(f"{ratio_path}.total", f"measures {total_sli} but the numerator measures {sli}")
    expected = "bad" if sli is SliType.DATABASE_ERRORS else "good"
    if sli is SliType.LATENCY:
        raise OpenSloError(ratio_path, "the latency SLI is a thresholdMetric with an objective op/value")
    if numerator != expected:
        raise OpenSloError(f"{ratio_path}.{numerator}", f"the {sli} SLI is expressed with {expected}/total")
    return sli


def _target(objective: Mapping[str, Any], path: str) -> Decimal:
    if "target" in objective and "targetPercent" in objective:
        raise OpenSloError(path, "give either target or targetPercent, not both")
    if "targetPercent" in objective:
        target = _decimal(objective["targetPercent"], f"{path}.targetPercent") / 100
        field = f"{path}.targetPercent"
    else:
        target = _decimal(_require(objective, "target", path), f"{path}.target")
        field = f"{path}.target"
    if not 0 < target < 1:
        raise OpenSloError(field, f"must be strictly between 0 and 1 (0 and 100 for targetPercent), got {target}")
    return target


def _min_events(annotations: Mapping[str, Any]) -> int:
    raw = annotations.get(ANNOTATION_MIN_EVENTS, "0")
    if not isinstance(raw, str | int) or isinstance(raw, bool) or not str(raw).isdigit():
        raise OpenSloError(f"metadata.annotations.{ANNOTATION_MIN_EVENTS}", f"must be a whole number >= 0, got {raw!r}")
    return int(raw)


def _exclude_maintenance(annotations: Mapping[str, Any]) -> bool:
    """"true" or "false" (annotation values are strings); an unquoted YAML boolean is taken at its word.
    Absent means off, like any other field a document leaves out; anything else is an error, never a quiet off."""
    raw = annotations.get(ANNOTATION_EXCLUDE_MAINTENANCE, "false")
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return raw == "true"
    raise OpenSloError(f"metadata.annotations.{ANNOTATION_EXCLUDE_MAINTENANCE}",
                       f'must be "true" or "false", got {raw!r}')


def slo_from_document(
    document: Any, *, indicators: Mapping[str, Mapping[str, Any]] | None = None, index: int | None = None
) -> SloDefinition:
    """Build a definition from one parsed `kind: SLO` document; errors name the offending field."""
    try:
        return _slo_from_document(document, indicators or {})
    except OpenSloError as error:
        if index is None:
            raise
        raise OpenSloError(error.field, error.detail, document=index) from None


def _slo_from_document(document: Any, indicators: Mapping[str, Mapping[str, Any]]) -> SloDefinition:
    doc = _mapping(document, "<document>")
    api_version = _require(doc, "apiVersion", "")
    if api_version != API_VERSION:
        raise OpenSloError("apiVersion", f"must be {API_VERSION!r}, got {api_version!r}")
    kind = _require(doc, "kind", "")
    if kind != "SLO":
        raise OpenSloError("kind", f"must be 'SLO', got {kind!r}")

    metadata = _mapping(_require(doc, "metadata", ""), "metadata")
    name = _string(_require(metadata, "name", "metadata"), "metadata.name")
    if not _NAME_RE.match(name):
        raise OpenSloError("metadata.name", f"must be an RFC 1123 label (a-z, 0-9, '-', at most 63), got {name!r}")
    display_name = metadata.get("displayName") or ""
    if not isinstance(display_name, str):
        raise OpenSloError("metadata.displayName", f"must be a string, got {display_name!r}")
    labels = _mapping(_require(metadata, "labels", "metadata"), "metadata.labels")
    environment = _string(_require(labels, LABEL_ENVIRONMENT, "metadata.labels"), "metadata.labels.environment")
    annotations = _mapping(metadata.get("annotations") or {}, "metadata.annotations")
    min_events = _min_events(annotations)
    exclude_maintenance = _exclude_maintenance(annotations)

    spec = _mapping(_require(doc, "spec", ""), "spec")
    description = spec.get("description") or ""
    if not isinstance(description, str) or len(description) > 1050:
        raise OpenSloError("spec.description", "must be a string of at most 1050 characters")
    service = _string(_require(spec, "service", "spec"), "spec.service")

    if "indicator" in spec and "indicatorRef" in spec:
        raise OpenSloError("spec", "give either indicator or indicatorRef, not both")
    if "indicatorRef" in spec:
        ref = _string(spec["indicatorRef"], "spec.indicatorRef")
        if ref not in indicators:
            raise OpenSloError("spec.indicatorRef", f"no kind: SLI document named {ref!r} in this file")
        sli_type = _indicator_sli(indicators[ref], f"SLI {ref!r}")
    elif "indicator" in spec:
        sli_type = _indicator_sli(spec["indicator"], "spec.indicator")
    else:
        raise OpenSloError("spec.indicator", "required (or spec.indicatorRef)")

    windows = _require(spec, "timeWindow", "spec")
    if not isinstance(windows, list) or len(windows) != 1:
        raise OpenSloError("spec.timeWindow", "must be a list with exactly one window")
    window_doc = _mapping(windows[0], "spec.timeWindow[0]")
    if window_doc.get("isRolling") is not True or "calendar" in window_doc:
        raise OpenSloError("spec.timeWindow[0].isRolling", "only rolling windows (isRolling: true) are supported")
    window = parse_duration(_require(window_doc, "duration", "spec.timeWindow[0]"), "spec.timeWindow[0].duration")

    budgeting = _require(spec, "budgetingMethod", "spec")
    expected_budgeting = "Timeslices" if sli_type is SliType.AVAILABILITY else "Occurrences"
    if budgeting not in ("Occurrences", "Timeslices"):
        raise OpenSloError("spec.budgetingMethod", f"must be Occurrences or Timeslices, got {budgeting!r}")
    if budgeting != expected_budgeting:
        raise OpenSloError("spec.budgetingMethod", f"the {sli_type} SLI is budgeted by {expected_budgeting}")

    objectives = _require(spec, "objectives", "spec")
    if not isinstance(objectives, list) or len(objectives) != 1:
        raise OpenSloError("spec.objectives", "must be a list with exactly one objective")
    objective_path = "spec.objectives[0]"
    objective = _mapping(objectives[0], objective_path)
    target = _target(objective, objective_path)

    threshold_ms: int | None = None
    slice_threshold: Decimal | None = None
    if sli_type is SliType.LATENCY:
        op = _require(objective, "op", objective_path)
        if op != "lte":
            raise OpenSloError(
                f"{objective_path}.op", f"the latency SLI counts requests at or under the threshold: lte, got {op!r}"
            )
        value = _decimal(_require(objective, "value", objective_path), f"{objective_path}.value")
        if value <= 0 or value != value.to_integral_value():
            raise OpenSloError(
                f"{objective_path}.value", f"must be a positive whole number of milliseconds, got {value}"
            )
        threshold_ms = int(value)
    elif "op" in objective or "value" in objective:
        raise OpenSloError(f"{objective_path}.op", "op/value belong to threshold metrics (the latency SLI) only")
    if sli_type is SliType.AVAILABILITY:
        slice_target = _decimal(
            _require(objective, "timeSliceTarget", objective_path), f"{objective_path}.timeSliceTarget"
        )
        if not 0 <= slice_target < 1:
            raise OpenSloError(f"{objective_path}.timeSliceTarget", f"must be in [0, 1), got {slice_target}")
        slice_window = _require(objective, "timeSliceWindow", objective_path)
        slice_minutes = (
            slice_window
            if isinstance(slice_window, int) and not isinstance(slice_window, bool)
            else parse_duration(slice_window, f"{objective_path}.timeSliceWindow") / timedelta(minutes=1)
        )
        if slice_minutes != 1:
            raise OpenSloError(f"{objective_path}.timeSliceWindow", f"slices are one minute (1m), got {slice_window!r}")
        slice_threshold = 1 - slice_target

    try:
        return SloDefinition(
            name=name,
            display_name=display_name,
            description=description,
            sli_type=sli_type,
            objective=target,
            window=window,
            min_events=min_events,
            environment=environment,
            service=service,
            threshold_ms=threshold_ms,
            slice_error_threshold=slice_threshold,
            exclude_maintenance=exclude_maintenance,
        )
    except ValueError as error:
        raise OpenSloError("spec", str(error)) from None


def load_slos(text: str) -> list[SloDefinition]:
    """Parse a (multi-document) OpenSLO v1 YAML stream into SLO definitions.

    `kind: SLI` documents are kept to resolve `indicatorRef`; other kinds (Service, DataSource,
    AlertPolicy ...) are skipped. Raises `OpenSloError` for malformed YAML or any invalid SLO.
    """
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise OpenSloError("<yaml>", f"not valid YAML{where}: {problem}") from None
    if not documents:
        raise OpenSloError("<yaml>", "no documents found")

    indicators: dict[str, Mapping[str, Any]] = {}
    for index, doc in enumerate(documents, start=1):
        if isinstance(doc, Mapping) and doc.get("kind") == "SLI":
            metadata = doc.get("metadata")
            name = metadata.get("name") if isinstance(metadata, Mapping) else None
            if not isinstance(name, str) or not name:
                raise OpenSloError("metadata.name", "required", document=index)
            indicators[name] = doc

    slos: list[SloDefinition] = []
    seen: set[tuple[str, str, str]] = set()
    for index, doc in enumerate(documents, start=1):
        if not isinstance(doc, Mapping):
            raise OpenSloError("<document>", f"must be a mapping, got {type(doc).__name__}", document=index)
        if doc.get("kind") != "SLO":
            if doc.get("kind") is None:
                raise OpenSloError("kind", "required", document=index)
            continue
        slo = slo_from_document(doc, indicators=indicators, index=index)
        key = (slo.service, slo.environment, slo.name)
        if key in seen:
            raise OpenSloError(
                "metadata.name", f"duplicate SLO {slo.name!r} for {slo.service}/{slo.environment}", document=index
            )
        seen.add(key)
        slos.append(slo)
    if not slos:
        raise OpenSloError("kind", "no kind: SLO document found")
    return slos
