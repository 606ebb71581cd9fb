"""`govctl flags evaluate`: evaluate a flag offline against a snapshot file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from govctl.api import GovctlError
from govctl.evaluation import ErrorCode, SnapshotError, State, evaluate


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("flags", help="feature flags")
    flags_sub = parser.add_subparsers(dest="flags_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: _usage(parser))

    ev = flags_sub.add_parser(
        "evaluate",
        help="evaluate a flag offline against a snapshot file",
        description="Evaluate FLAG against a snapshot in the Unleash client-API format "
        "({version, features, segments}) and print the result as JSON.",
    )
    ev.add_argument("--state", required=True, metavar="FILE", help="snapshot file (JSON)")
    ev.add_argument("--flag", required=True, metavar="KEY", help="flag key")
    ev.add_argument(
        "--context",
        default="{}",
        metavar="JSON",
        help='Unleash context, e.g. \'{"userId": "42", "properties": {"plan": "pro"}}\'',
    )
    ev.set_defaults(func=run_evaluate)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _load_state(path: Path) -> State:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GovctlError(f"snapshot file not found: {path}", exit_code=2)
    except (OSError, UnicodeDecodeError) as exc:
        raise GovctlError(f"cannot read snapshot file {path}: {exc}", exit_code=2)
    try:
        return State.from_json(text)
    except SnapshotError as exc:
        raise GovctlError(f"{path}: {exc}", exit_code=2)


def _parse_context(text: str) -> dict[str, Any]:
    try:
        context = json.loads(text)
    except ValueError as exc:
        raise GovctlError(f"--context is not valid JSON: {exc}", exit_code=2)
    if not isinstance(context, dict):
        raise GovctlError("--context must be a JSON object", exit_code=2)
    return context


def run_evaluate(args: argparse.Namespace) -> int:
    state = _load_state(Path(args.state))
    context = _parse_context(args.context)
    result = evaluate(state, args.flag, context)
    if result.error_code == ErrorCode.FLAG_NOT_FOUND:
        known = ", ".join(sorted(state.features)[:10]) or "none"
        raise GovctlError(f"unknown flag {args.flag!r} in {args.state} (flags: {known})", exit_code=2)
    variant = result.variant
    output = {
        "enabled": result.enabled,
        "variant": {
            "name": variant.name,
            "enabled": variant.enabled,
            "feature_enabled": variant.feature_enabled,
            "payload": None if variant.payload is None else dict(variant.payload),
        },
        "reason": result.reason,
    }
    print(json.dumps(output, indent=2, ensure_ascii=False))
    return 0
