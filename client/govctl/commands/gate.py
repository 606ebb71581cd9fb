"""`govctl gate wait`: poll the release gate until it allows (exit 0), blocks (exit 1) or the timeout passes (1)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from govctl.api import Client, Config, GovctlError
from govctl.commands.release import add_release_selector, resolve_release
from govctl.durations import parse_seconds


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("gate", help="wait on a release's gate")
    commands = parser.add_subparsers(dest="gate_command", metavar="COMMAND", required=True)
    wait = commands.add_parser("wait", help="poll until the gate allows (0) or blocks (1); 'pending' keeps waiting",
                               description="Exit 0 when the gate allows, 1 when it blocks or the timeout passes "
                               "(the reasons are printed), 2-4 for usage, connection and token errors.")
    add_release_selector(wait)
    wait.add_argument("--environment", required=True)
    wait.add_argument("--timeout", type=parse_seconds, default=parse_seconds("30m"), help="default 30m")
    wait.add_argument("--interval", type=parse_seconds, default=parse_seconds("15s"), help="default 15s")
    wait.set_defaults(func=run_wait)


def _lines(gate: dict[str, Any], only_not_allowed: bool) -> list[str]:
    return [f"  {i['name']}: {i['verdict']} ({i['code']}): {i['message']}" for i in gate["inputs"]
            if not only_not_allowed or i["verdict"] != "allow"]


def run_wait(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise GovctlError("--interval must be positive", exit_code=2)
    client = Client(Config.from_env())
    try:
        release = resolve_release(client, args)
        deadline = time.monotonic() + args.timeout
        last_reasons: list[str] = []
        while True:
            gate = client.get(f"/api/v1/releases/{release}/gate", environment=args.environment)
            decision = gate["decision"]
            if decision == "allow":
                print(f"gate {args.environment}: allow", file=sys.stderr)
                print("\n".join(_lines(gate, only_not_allowed=False)), file=sys.stderr)
                return 0
            reasons = _lines(gate, only_not_allowed=True)
            if decision == "block":
                raise GovctlError(f"gate {args.environment}: blocked\n" + "\n".join(reasons), exit_code=1)
            if reasons != last_reasons:
                print(f"gate {args.environment}: pending\n" + "\n".join(reasons), file=sys.stderr)
                last_reasons = reasons
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GovctlError(f"gate {args.environment}: timed out after {args.timeout:g}s still pending\n"
                                  + "\n".join(reasons), exit_code=1)
            time.sleep(min(args.interval, remaining))
    finally:
        client.close()
