"""Rewrite the transition tables in docs/*.md from the code (governance/transition_docs.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "client")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django  # noqa: E402

django.setup()

from governance import transition_docs  # noqa: E402

changed = transition_docs.rewrite()
print("rewrote: " + (", ".join(changed) if changed else "nothing (the docs match the code)"))
