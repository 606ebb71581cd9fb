"""Benchmark-only settings: the product's settings with a URLconf that adds the baseline views."""

from governance.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_bench"
