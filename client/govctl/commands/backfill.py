"""`govctl backfill status|pause|resume|cancel ID`: follow and steer a backfill from CI or a terminal."""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import timedelta
from typing import Any

from govctl.api import Client, Config, GovctlError
from govctl.durations import parse_seconds

BAR_WIDTH = 30
ACTIVE = ("pending", "running")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("backfill", help="show a backfill's progress; pause, resume or cancel it")
    commands = parser.add_subparsers(dest="backfill_command", metavar="SUBCOMMAND", required=True)

    status = commands.add_parser("status", help="progress bar, rows, rate, ETA and last key")
    status.add_argument("id", type=int)
    status.add_argument("--watch", action="store_true",
                        help="poll until it stops running (exit 0 completed, 1 paused or cancelled)")
    status.add_argument("--interval", type=parse_seconds, default=parse_seconds("5s"), metavar="DURATION",
                        help="time between polls with --watch (seconds, or e.g. 500ms, 1m; default 5s)")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(func=run_status)

    for verb, text in (("pause", "pause after the current batch"), ("resume", "resume from the last checkpoint"),
                       ("cancel", "cancel for good (committed batches stay)")):
        action = commands.add_parser(verb, help=text)
        action.add_argument("id", type=int)
        action.add_argument("--reason", required=True, help="recorded in the audit trail")
        action.set_defaults(func=run_action, verb=verb)


def _duration(seconds: float | None) -> str:
    return "?" if seconds is None else str(timedelta(seconds=round(seconds)))


def progress_bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """[#########.....................]  30.0% (text only, so CI logs show it too)."""
    if fraction is None:
        return "[" + "." * width + "]   --.-%"
    fraction = max(0.0, min(1.0, fraction))
    filled = int(fraction * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}%"


def render(body: dict[str, Any]) -> str:
    """Two or three lines: the backfill and its state, the bar with figures, and why it waits or stopped."""
    p = body.get("progress") or {}
    head = f"backfill #{body['id']} {body['name']} [{body['status']}]"
    if body.get("plan"):
        head += f" plan {body['plan']}"
    estimate = p.get("estimated_rows")
    rate = p.get("rate_rows_per_second")
    figures = [
        progress_bar(p.get("fraction")),
        f"{p.get('rows_done', 0):,} of ~{estimate:,} rows" if estimate is not None else f"{p.get('rows_done', 0):,} rows",
        f"{rate:,.0f} rows/s" if rate else "- rows/s",
        f"ETA {_duration(p.get('eta_seconds'))}",
        f"last key {p.get('next_key') if p.get('next_key') is not None else '-'}",
        f"batch {p.get('batch_size', 0):,}",
    ]
    lines = [head, "  ".join(figures)]
    if p.get("throttle_reason"):
        lines.append(f"throttled: {p['throttle_reason']}")
    if body.get("status_reason") and body["status"] in ("paused", "cancelled"):
        lines.append(f"{body['status']}: {body['status_reason']}")
    return "\n".join(lines)


def _show(body: dict[str, Any], fmt: str) -> None:
    print(json.dumps(body) if fmt == "json" else render(body), flush=True)


def run_status(args: argparse.Namespace) -> int:
    if not (math.isfinite(args.interval) and args.interval > 0):  # time.sleep refuses nan and inf
        raise GovctlError("--interval must be a positive number of seconds", exit_code=2)
    client = Client(Config.from_env())
    try:
        body = client.get(f"/api/v1/backfills/{args.id}")
        _show(body, args.format)
        while args.watch and body["status"] in ACTIVE:
            time.sleep(args.interval)
            body = client.get(f"/api/v1/backfills/{args.id}")
            _show(body, args.format)
    finally:
        client.close()
    if args.watch:
        return 0 if body["status"] == "completed" else 1
    return 0


def run_action(args: argparse.Namespace) -> int:
    client = Client(Config.from_env())
    try:
        body = client.post(f"/api/v1/backfills/{args.id}/{args.verb}", {"reason": args.reason})
    finally:
        client.close()
    print(render(body))
    return 0
