"""OpenSLO v1 (`apiVersion: openslo/v1`, `kind: SLO`) import and export of `SloDefinition`s.

Mapping (export writes exactly this; import reads it back and also accepts `targetPercent`,
`indicatorRef` resolved against `kind: SLI` documents in the same YAML stream, and documents of
other kinds, which it skips):

    metadata.name                       SloDefinition.name (RFC 1123 label)
    metadata.displayName                display_name (optional)
    metadata.labels.environment         environment
    metadata.annotations[min-events]    min_events (no OpenSLO field exists for it)
    metadata.annotations[exclude-maintenance]
                                        exclude_maintenance: "true" or "false" (portal-only; absent = false)
    spec.description                    description (optional, <= 1050 characters)
    spec.service                        service
    spec.indicator                      SLI type, from the indicator's shape and metric source:
        request_success   ratioMetric good/total
        database_errors   ratioMetric bad/total
        latency           thresholdMetric, objective {op: lte, value: threshold_ms}
        availability      ratioMetric good/total with budgetingMethod Timeslices,
                          objective {timeSliceTarget: 1 - slice_error_threshold, timeSliceWindow: 1m}
    spec.timeWindow[0]                  window: {duration: 7d, isRolling: true}; rolling only
    spec.budgetingMethod                Occurrences, or Timeslices for availability
    spec.objectives[0].target           objective (exactly one objective)

Every metric source is `type: GovernancePortal` with `spec: {sli: <type>, series: good|bad|total}`,
so another tool reading the document sees which portal series feeds each side of the ratio.

Annotation keys carry the `governance.portal/` prefix; values are strings (OpenSLO: `map[string]string`).
The package: `schema` (names, durations, `OpenSloError`), `export` (`slo_to_document`, `dump_slos`), `import_`
(`slo_from_document`, `load_slos`). Import the public names from here.
"""

from observability.openslo.export import dump_slos, slo_to_document
from observability.openslo.import_ import load_slos, slo_from_document
from observability.openslo.schema import (
    ANNOTATION_EXCLUDE_MAINTENANCE,
    ANNOTATION_MIN_EVENTS,
    API_VERSION,
    LABEL_ENVIRONMENT,
    METRIC_SOURCE_TYPE,
    SLICE_WINDOW,
    OpenSloError,
    format_duration,
    parse_duration,
)

__all__ = [
    "ANNOTATION_EXCLUDE_MAINTENANCE", "ANNOTATION_MIN_EVENTS", "API_VERSION", "LABEL_ENVIRONMENT",
    "METRIC_SOURCE_TYPE", "SLICE_WINDOW", "OpenSloError", "dump_slos", "format_duration", "load_slos",
    "parse_duration", "slo_from_document", "slo_to_document",
]
