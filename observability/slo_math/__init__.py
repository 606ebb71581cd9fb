"""SLO definitions, SLI points, exact error budgets and multi-window multi-burn-rate alerts.

Pure Python (no Django): the models, admin and nightly tasks wrap these functions.

Exactness: every ratio is a `fractions.Fraction` built from integer counts and the `Decimal`
objective, so budgets come from raw good/total sums over the window (never an average of
per-minute ratios) and comparisons such as "burn rate > 13.44" have no rounding at all.

Callers import from `observability.slo_math`; the parts live beside this file by responsibility:

- definitions.py  `SloDefinition`, `SliPoint` (validated), the good/total events of one minute
- defaults.py     the four SLOs seeded for every service and environment
- budgets.py      windows, their good/total sums, `compute_budget` and its `Verdict`, the burn-down
- burn.py         burn rates, the window pairs and their factors, the alert decisions
"""

from datetime import timedelta  # noqa: F401 - reachable as slo_math.timedelta before the split; tests use it

from observability.slo_math.budgets import (
    BudgetReport,
    Verdict,
    budget_burndown,
    burndown_from_rows,
    compute_budget,
    evaluate_budget,
    window_counts,
    window_end,
)
from observability.slo_math.burn import (
    BURN_WINDOW_PAIRS,
    REFERENCE_WINDOW,
    AlertAction,
    AlertDecision,
    BurnWindowPair,
    burn_rate,
    burn_rate_factor,
    decide_burn_alerts,
    evaluate_burn_alerts,
    firing_alerts,
    pairs_for_window,
    windows_needed,
)
from observability.slo_math.defaults import default_slos, latency_threshold_ms, minimum_events_for
from observability.slo_math.definitions import (
    DEFAULT_SLICE_ERROR_THRESHOLD,
    MINUTE,
    SliPoint,
    SliType,
    SloDefinition,
    cumulative_buckets,
    good_total,
    slo_good_total,
)

__all__ = [
    "BURN_WINDOW_PAIRS",
    "DEFAULT_SLICE_ERROR_THRESHOLD",
    "MINUTE",
    "REFERENCE_WINDOW",
    "AlertAction",
    "AlertDecision",
    "BudgetReport",
    "BurnWindowPair",
    "SliPoint",
    "SliType",
    "SloDefinition",
    "Verdict",
    "budget_burndown",
    "burn_rate",
    "burn_rate_factor",
    "burndown_from_rows",
    "compute_budget",
    "cumulative_buckets",
    "decide_burn_alerts",
    "default_slos",
    "evaluate_budget",
    "evaluate_burn_alerts",
    "firing_alerts",
    "good_total",
    "latency_threshold_ms",
    "minimum_events_for",
    "pairs_for_window",
    "slo_good_total",
    "window_counts",
    "window_end",
    "windows_needed",
]
