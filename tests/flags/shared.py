"""Where the shared conformance data lives: $GOV_SHARED_DIR, else <project root>/../shared."""

from __future__ import annotations

import os
from pathlib import Path


def shared_dir() -> Path:
    configured = os.environ.get("GOV_SHARED_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared"
