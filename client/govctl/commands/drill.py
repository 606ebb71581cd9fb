"""`govctl drill run|show`: start a disaster-recovery drill, wait for its verdicts, show one.

Exit codes of `drill run --wait`: 0 the drill passed, 1 it failed (failing verdicts are printed) or did
not finish within --timeout; 2 usage, 3 portal unreachable, 4 token refused (see govctl.cli).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from govctl.api import Client, Config, GovctlError
from govctl.durations import parse_seconds

FINISHED = {"passed", "failed"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("drill", help="disaster-recovery drills (restore, PITR)")
    drill_sub = parser.add_subparsers(dest="drill_command", metavar="SUBCOMMAND", required=True)

    run = drill_sub.add_parser(
        "run",
        help="start a drill of a backup target (token scope drills:run)",
        description="Start a restore drill (newest backup into a shadow database, verified against its "
        "manifest) or a PITR drill of TARGET. With --wait, print progress and exit 0 if it passed, 1 if not.",
    )
    run.add_argument("--target", required=True, metavar="NAME", help="backup target name")
    run.add_argument("--kind", choices=["restore", "pitr"], default="restore", help="drill kind (default restore)")
    run.add_argument("--reason", required=True, help="why the drill runs (recorded with the evidence)")
    run.add_argument("--wait", action="store_true", help="wait for the verdicts; exit 1 if the drill fails")
    run.add_argument("--timeout", type=parse_seconds, default=parse_seconds("4h"), metavar="DURATION",
                     help="with --wait: give up after this long (seconds, or e.g. 90s, 15m, 2h; default 4h)")
    run.add_argument("--interval", type=parse_seconds, default=parse_seconds("5s"), metavar="DURATION",
                     help="with --wait: poll this often (default 5s)")
    run.set_defaults(func=run_drill)

    show = drill_sub.add_parser("show", help="show a drill's status and verdicts")
    show.add_argument("id", type=int, metavar="ID", help="drill id")
    show.add_argument("--json", action="store_true", help="print the API's JSON instead of a summary")
    show.add_argument("--report", action="store_true", help="print the Markdown report")
    show.set_defaults(func=show_drill)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_drill(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        raise GovctlError("--reason must not be empty", exit_code=2)
    if not all(math.isfinite(v) and v > 0 for v in (args.timeout, args.interval)):  # nan would wait forever
        raise GovctlError("--timeout and --interval must be positive numbers of seconds", exit_code=2)
    client = Client(Config.from_env())
    try:
        started = client.post("/api/v1/drills", {"target": args.target, "kind": args.kind, "reason": args.reason})
        drill_id = started["id"]
        if not args.wait:
            print(json.dumps(started, indent=2, sort_keys=True))
            return 0
        _progress(f"drill #{drill_id}: {started['kind']} drill of {started['target']} {started['status']}")
        drill = _wait(client, drill_id, timeout=args.timeout, interval=args.interval)
    finally:
        client.close()
    print(summary(drill))
    return 0 if drill["status"] == "passed" else 1


def _wait(client: Client, drill_id: int, *, timeout: float, interval: float) -> dict[str, Any]:
    began = time.monotonic()
    last_status = ""
    last_note = began
    while True:
        drill = client.get(f"/api/v1/drills/{drill_id}")
        elapsed = time.monotonic() - began
        if drill["status"] != last_status:
            _progress(f"drill #{drill_id}: {drill['status']} ({elapsed:.0f} s)")
            last_status = drill["status"]
            last_note = time.monotonic()
        elif time.monotonic() - last_note >= 60:
            _progress(f"drill #{drill_id}: still {drill['status']} ({elapsed:.0f} s)")
            last_note = time.monotonic()
        if drill["status"] in FINISHED:
            return drill
        if elapsed + interval > timeout:
            raise GovctlError(
                f"drill #{drill_id} is still {drill['status']} after {elapsed:.0f} s (--timeout {timeout:g}); "
                f"follow it with: govctl drill show {drill_id}"
            )
        time.sleep(interval)


def summary(drill: dict[str, Any]) -> str:
    """A drill as a few lines of text: outcome, timings, every verdict, then the failing ones in full."""
    status = drill["status"]
    took = f" in {drill['total_seconds']:.2f} s" if drill.get("total_seconds") is not None else ""
    # A PITR drill is a self-test of the mechanism in throwaway clusters: its line says so (the portal's `scope`),
    # so a pass never reads as evidence about the target's own backups or WAL.
    what = drill.get("scope") if drill["kind"] == "pitr" and drill.get("scope") else \
        f"{drill['kind']} drill of {drill['target']}"
    lines = [
        f"drill #{drill['id']}: {what} {status.upper()}{took} "
        f"(objective {drill['objective']}: {drill['objective_seconds']:.0f} s)"
    ]
    if drill.get("proves"):
        lines.append(f"a pass proves {drill['proves']}")
    if drill.get("achieved_rpo_seconds") is not None:
        lines.append(f"achieved RPO: {drill['achieved_rpo_seconds']:.3f} s")
    if drill.get("backup"):
        lines.append(f"backup #{drill['backup']['id']}: {drill['backup']['path']}")
    width = max((len(v["layer"]) for v in drill["verdicts"]), default=0)
    lines += [f"  {v['layer']:<{width}}  {v['status']:<7}  {v['summary']}" for v in drill["verdicts"]]
    failing = [v for v in drill["verdicts"] if v["status"] == "fail"]
    if failing:
        lines.append("failing verdicts:")
        for v in failing:
            lines.append(f"  {v['layer']}: {v['summary']}")
            lines += [f"    - {p}" for p in v.get("problems", [])[:20]]
    if drill.get("error") and not failing:
        lines.append(f"error: {drill['error']}")
    lines.append(f"report: {drill['report_url']}")
    return "\n".join(lines)


def show_drill(args: argparse.Namespace) -> int:
    client = Client(Config.from_env())
    try:
        if args.report:
            print(client.request("GET", f"/api/v1/drills/{args.id}/report.md").text, end="")
            return 0
        drill = client.get(f"/api/v1/drills/{args.id}")
    finally:
        client.close()
    print(json.dumps(drill, indent=2, sort_keys=True) if args.json else summary(drill))
    return 0
