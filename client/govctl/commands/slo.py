"""`govctl slo check`: the production SLOs of a service and their error budgets; exit 1 when one is breached.

Exit codes: 0 no SLO breached (also: no SLOs, or not enough data for a verdict, both said), 1 at least one
SLO's error budget is spent, 2 usage, 3 portal unreachable, 4 token refused (see govctl.cli).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from govctl.api import Client, Config


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("slo", help="service level objectives: check the error budgets")
    commands = parser.add_subparsers(dest="slo_command", metavar="SUBCOMMAND", required=True)
    check = commands.add_parser("check", help="exit 1 when an SLO of the service has spent its error budget")
    check.add_argument("--service", required=True)
    check.add_argument("--environment", default="production", help="default production")
    check.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    check.set_defaults(func=run_check)


def _percent(value: Any) -> str:
    return "—" if value is None else f"{value:.3%}"


def _maintenance(slo: dict[str, Any]) -> str:
    """The SLO leaves declared maintenance out (exclude_maintenance): say how much, so a good figure is read
    knowing those minutes were not counted. Portals before the option send neither key."""
    if not slo.get("maintenance_excluded"):
        return ""
    return f" (declared maintenance left out: {slo.get('maintenance_excluded_minutes', 0)} min)"


def run_check(args: argparse.Namespace) -> int:
    client = Client(Config.from_env())
    try:
        answer = client.get("/api/v1/slo/status", service=args.service, environment=args.environment)
    finally:
        client.close()
    if args.json:
        print(json.dumps(answer, indent=2, sort_keys=True))
    else:
        print(f"SLOs of {answer['service']} in {answer['environment']}:")
        if not answer["slos"]:
            print("  none enabled")
        for slo in answer["slos"]:
            verdict = slo["verdict"] or slo.get("error") or "no data"
            print(f"  {slo['slo']}: objective {slo['objective']} over {slo['window']}, compliance "
                  f"{_percent(slo['compliance'])}, budget left {_percent(slo['budget_remaining_fraction'])}: {verdict}"
                  f"{_maintenance(slo)}")
        if answer["breached"]:
            print(f"breached: {', '.join(answer['breached'])}")
    return 1 if answer["breached"] else 0
