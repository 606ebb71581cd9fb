"""The Unleash client specification, run case by case against the evaluator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from govctl.flags.evaluation import State, evaluate

from tests.conformance import conformance_dir

SPEC_DIR = conformance_dir() / "unleash"


def _cases() -> list[Any]:
    files = sorted(SPEC_DIR.glob("*.json"))
    if not files:
        raise RuntimeError(f"no Unleash specification files under {SPEC_DIR}")
    cases = []
    for path in files:
        spec = json.loads(path.read_text(encoding="utf-8"))
        for kind in ("tests", "variantTests"):
            for case in spec.get(kind, []):
                cases.append(pytest.param(path, kind, case, id=f"{path.name}::{case['description']}"))
    return cases


CASES = _cases()
_STATES: dict[Path, State] = {}


def _state(path: Path) -> State:
    if path not in _STATES:
        _STATES[path] = State(json.loads(path.read_text(encoding="utf-8"))["state"])
    return _STATES[path]


def test_specification__has_all_209_cases() -> None:
    # 187 vendored from the specification, 22 written here for dependent features (file 17)
    assert len(CASES) == 209


@pytest.mark.parametrize(("path", "kind", "case"), CASES)
def test_unleash_specification_case__matches_expected_result(path: Path, kind: str, case: dict) -> None:
    result = evaluate(_state(path), case["toggleName"], case["context"])

    if kind == "tests":
        assert result.enabled is case["expectedResult"]
    else:
        assert result.variant.to_dict() == case["expectedResult"]
