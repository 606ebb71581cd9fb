"""`govctl chaos list|export|import|run|status|halt|faults`: chaos drills from a terminal or a CI job.

Exit codes (their own, see docs/CHAOS.md): 0 the run completed (steady state held), 1 it deviated or failed,
or --wait gave up (--timeout); 2 usage; 3 aborted or interrupted; 4 the portal is unreachable or answered an
error (invalid experiment, unknown service, token refused…). Commands that only read or change (list, export,
import, halt, faults) exit 0 on success and 4 on an API error.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from govctl.durations import parse_seconds
from govctl.errors import GovctlError

EXIT = {"completed": 0, "deviated": 1, "failed": 1, "aborted": 3, "interrupted": 3}
FINISHED = set(EXIT)
API_ERROR = 4
BASE = "/api/v1/chaos"


class WaitTimedOut(GovctlError):
    """--wait gave up: exit 1 (the CI job fails), not an API error."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("chaos", help="chaos drills: experiments, runs, faults, halt")
    chaos_sub = parser.add_subparsers(dest="chaos_command", metavar="SUBCOMMAND", required=True)

    listing = chaos_sub.add_parser("list", help="a service's experiments (scope chaos:read)")
    listing.add_argument("--service", help="service slug (default: every service the token sees)")
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    listing.set_defaults(func=list_experiments)

    export = chaos_sub.add_parser("export", help="an experiment as Chaos Toolkit JSON (runs under `chaos run`)")
    export.add_argument("--service", required=True)
    export.add_argument("--experiment", required=True, metavar="KEY")
    export.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    export.set_defaults(func=export_experiment)

    imported = chaos_sub.add_parser("import", help="create or version an experiment from Chaos Toolkit JSON "
                                                   "(scope chaos:run)")
    imported.add_argument("file", type=Path, metavar="FILE", help="experiment JSON ('-' for standard input)")
    imported.add_argument("--service", required=True)
    imported.add_argument("--key", required=True, help="the experiment's key in the portal")
    imported.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    imported.set_defaults(func=import_experiment)

    run = chaos_sub.add_parser("run", help="start a drill (scope chaos:run); --wait for its verdict",
                               description="Start a run of an experiment. With --wait, print progress and exit "
                               "0 completed, 1 deviated/failed, 3 aborted/interrupted, 4 API error.")
    run.add_argument("--service", required=True)
    run.add_argument("--experiment", required=True, metavar="KEY")
    run.add_argument("--environment", required=True, help="e.g. preview (production needs an approved drill)")
    run.add_argument("--reason", default="govctl chaos run", help="why (default: %(default)r)")
    run.add_argument("--wait", action="store_true", help="wait for the verdict")
    run.add_argument("--timeout", type=parse_seconds, default=parse_seconds("30m"), metavar="DURATION",
                     help="with --wait: give up after this long (default 30m); the run goes on (and its faults "
                     "expire by their TTL)")
    run.add_argument("--interval", type=parse_seconds, default=parse_seconds("2s"), metavar="DURATION",
                     help="with --wait: poll this often (default 2s)")
    run.set_defaults(func=run_experiment)

    status = chaos_sub.add_parser("status", help="a run's status, phases and probe values")
    status.add_argument("run", type=int, metavar="RUN", help="run id")
    status.add_argument("--json", action="store_true", help="print the API's JSON")
    status.add_argument("--report", action="store_true", help="print the run's Markdown report")
    status.set_defaults(func=show_status)

    halt = chaos_sub.add_parser("halt", help="remove EVERY active fault everywhere at once (scope chaos:run)")
    halt.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    halt.set_defaults(func=halt_all)

    faults = chaos_sub.add_parser("faults", help="active faults and their expiry (scope chaos:read)")
    faults.add_argument("--service")
    faults.add_argument("--environment")
    faults.add_argument("--json", action="store_true", help="print the API's JSON")
    faults.set_defaults(func=list_faults)


def _api_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The portal's errors exit 4 here (govctl's other commands use 3 and 4 for unreachable and auth)."""

    @functools.wraps(command)
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except GovctlError as exc:
            if exc.exit_code == 2 or isinstance(exc, WaitTimedOut):
                raise
            raise GovctlError(str(exc), exit_code=API_ERROR) from exc

    return wrapped


def _client() -> Any:
    from govctl.api import Client, Config  # httpx loads only for commands that talk to the portal

    return Client(Config.from_env())


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@_api_errors
def list_experiments(args: argparse.Namespace) -> int:
    client = _client()
    try:
        rows = client.get(f"{BASE}/experiments/", **({"service": args.service} if args.service else {}))
    finally:
        client.close()
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True))
        return 0
    if not rows:
        print("no experiments")
    for row in rows:
        print(f"{row['service']}/{row['key']}  v{row['version']}  {row['title']}")
    return 0


@_api_errors
def export_experiment(args: argparse.Namespace) -> int:
    client = _client()
    try:
        document = client.get(f"{BASE}/experiments/{quote(args.service, safe='')}/{quote(args.experiment, safe='')}"
                              "/export")
    finally:
        client.close()
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        _progress(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


@_api_errors
def import_experiment(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8")
        definition = json.loads(text)
    except OSError as exc:
        raise GovctlError(f"cannot read {args.file}: {exc}", exit_code=2) from None
    except ValueError as exc:
        raise GovctlError(f"{args.file} is not JSON: {exc}", exit_code=2) from None
    client = _client()
    try:
        created = client.post(f"{BASE}/experiments/", {"service": args.service, "key": args.key,
                                                        "definition": definition, "reason": args.reason})
    finally:
        client.close()
    print(f"experiment {args.service}/{created['key']} version {created['version']} (id {created['id']})")
    return 0


@_api_errors
def run_experiment(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        raise GovctlError("--reason must not be empty", exit_code=2)
    if not all(math.isfinite(v) and v > 0 for v in (args.timeout, args.interval)):
        raise GovctlError("--timeout and --interval must be positive numbers of seconds", exit_code=2)
    client = _client()
    try:
        started = client.post(f"{BASE}/runs/", {"service": args.service, "experiment": args.experiment,
                                                 "environment": args.environment, "reason": args.reason})
        run_id = started["id"]
        if not args.wait:
            print(json.dumps(started, indent=2, sort_keys=True))
            return 0
        _progress(f"chaos run #{run_id}: {args.service}/{args.experiment} in {args.environment} {started['status']}")
        run = _wait(client, run_id, timeout=args.timeout, interval=args.interval)
    finally:
        client.close()
    print(summary(run))
    return EXIT[run["status"]]


def _wait(client: Any, run_id: int, *, timeout: float, interval: float) -> dict[str, Any]:
    began = time.monotonic()
    seen: dict[str, str] = {}
    last_status, last_note = "", began
    while True:
        run = client.get(f"{BASE}/runs/{run_id}/")
        elapsed = time.monotonic() - began
        noted = False
        if run["status"] != last_status:
            last_status, noted = run["status"], True
            _progress(f"chaos run #{run_id}: {run['status']} ({elapsed:.0f} s)")
        for phase in run.get("phases") or []:
            if seen.get(phase["name"]) != phase["status"]:
                seen[phase["name"]], noted = phase["status"], True
                _progress(f"chaos run #{run_id}: {phase['name']} {phase['status']} ({elapsed:.0f} s)")
        if noted:
            last_note = time.monotonic()
        elif time.monotonic() - last_note >= 60:
            _progress(f"chaos run #{run_id}: still {run['status']} ({elapsed:.0f} s)")
            last_note = time.monotonic()
        if run["status"] in FINISHED:
            return run
        if elapsed + interval > timeout:
            raise WaitTimedOut(f"chaos run #{run_id} is still {run['status']} after {elapsed:.0f} s (--timeout "
                              f"{timeout:g}); follow it with: govctl chaos status {run_id}", exit_code=1)
        time.sleep(interval)


def summary(run: dict[str, Any]) -> str:
    """A run as a few lines: verdict, each phase with its probes, the failing probes marked."""
    lines = [f"chaos run #{run['id']}: {str(run['status']).upper()}"
             + (f" ({run['verdict']})" if run.get("verdict") and run.get("verdict") != run["status"] else "")]
    for phase in run.get("phases") or []:
        took = ""
        if phase.get("started_at") and phase.get("ended_at"):
            seconds = (_when(phase["ended_at"]) - _when(phase["started_at"])).total_seconds()
            took = f" in {seconds:.1f} s"
        lines.append(f"  {phase['name']}: {phase['status']}{took}")
        for probe in phase.get("probes") or []:
            mark = "ok " if probe.get("ok") else "NOT"
            lines.append(f"    [{mark}] {probe['name']}: {json.dumps(probe.get('value'))[:80]} "
                         f"(tolerance {json.dumps(probe.get('tolerance'))[:60]})")
    if run.get("url"):
        lines.append(f"report: {run['url']}")
    return "\n".join(lines)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@_api_errors
def show_status(args: argparse.Namespace) -> int:
    client = _client()
    try:
        run = client.get(f"{BASE}/runs/{args.run}/")
    finally:
        client.close()
    if args.report:
        print(run.get("report_markdown") or "", end="")
    elif args.json:
        print(json.dumps(run, indent=2, sort_keys=True))
    else:
        print(summary(run))
    return EXIT.get(run["status"], 0)


@_api_errors
def halt_all(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        raise GovctlError("--reason must not be empty", exit_code=2)
    client = _client()
    try:
        result = client.post(f"{BASE}/halt", {"reason": args.reason})
    finally:
        client.close()
    removed = result.get("removed", 0) if isinstance(result, dict) else 0
    ids = ", ".join(str(i) for i in (result or {}).get("faults", []))
    print(f"halted: {removed} fault(s) removed" + (f" ({ids})" if ids else ""))
    return 0


@_api_errors
def list_faults(args: argparse.Namespace) -> int:
    params = {k: v for k, v in (("service", args.service), ("environment", args.environment)) if v}
    client = _client()
    try:
        faults = client.get(f"{BASE}/faults/", **params)
    finally:
        client.close()
    if args.json:
        print(json.dumps(faults, indent=2, sort_keys=True))
        return 0
    if not faults:
        print("no active faults")
    now = datetime.now(UTC)
    for fault in faults:
        left = (_when(fault["expires_at"]) - now).total_seconds() if fault.get("expires_at") else float("nan")
        where = "/".join(str(fault.get(k, "?")) for k in ("service", "environment"))
        print(f"#{fault['id']} {where} {fault['kind']} {json.dumps(fault.get('params', {}), sort_keys=True)} "
              f"expires in {max(0, left):.0f} s" + (f" (run #{fault['run']})" if fault.get("run") else ""))
    return 0
