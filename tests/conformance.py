"""Where the vendored conformance data lives (tests/data/conformance, with licences and provenance)."""

from __future__ import annotations

from pathlib import Path


def conformance_dir() -> Path:
    return Path(__file__).resolve().parent / "data" / "conformance"
