"""`govctl deploy record`: tell the portal that CI deployed a release to an environment."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from govctl.api import Client, Config, GovctlError
from govctl.commands.release import add_release_selector, resolve_release


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("deploy", help="record deployments made by CI")
    commands = parser.add_subparsers(dest="deploy_command", metavar="COMMAND", required=True)
    record = commands.add_parser("record", help="record that a release reached an environment")
    add_release_selector(record)
    record.add_argument("--environment", required=True, help="e.g. preview, production")
    record.add_argument("--status", default="succeeded", choices=("succeeded", "failed"))
    record.add_argument("--url", default="", help="where the deployment can be seen")
    record.add_argument("--provider-ref", default="", help="the provider's deployment id (e.g. Vercel's dpl_…)")
    record.add_argument("--started-at", help="ISO 8601 time (default: now)")
    record.add_argument("--finished-at", help="ISO 8601 time (default: now)")
    record.add_argument("--reason", default="deployed by CI")
    record.set_defaults(func=run_record)


def run_record(args: argparse.Namespace) -> int:
    client = Client(Config.from_env())
    try:
        release = resolve_release(client, args)
        payload: dict[str, Any] = {"release": release, "environment": args.environment, "status": args.status,
                                   "url": args.url, "provider_ref": args.provider_ref, "reason": args.reason}
        if args.started_at:
            payload["started_at"] = args.started_at
        if args.finished_at:
            payload["finished_at"] = args.finished_at
        deployment = client.post("/api/v1/deployments", payload)
    except GovctlError as exc:
        raise GovctlError(f"cannot record the deployment to {args.environment}: {exc}",
                          exit_code=exc.exit_code) from None
    finally:
        client.close()
    gate = f", gate said {deployment['gate_decision']}" if deployment.get("gate_decision") else ""
    print(f"recorded {deployment['service']} {deployment['version']} → {deployment['environment']} "
          f"({deployment['status']}; release now {deployment['release_state']}{gate})", file=sys.stderr)
    print(deployment["id"])
    return 0
