"""`govctl check report`: report a CI check (tests, migrations, security-scan, smoke …) on a release."""

from __future__ import annotations

import argparse
import sys

from govctl.api import Client, Config, GovctlError
from govctl.commands.release import add_release_selector, resolve_release

STATUSES = ("pending", "success", "failure", "neutral")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("check", help="report CI checks on a release")
    commands = parser.add_subparsers(dest="check_command", metavar="COMMAND", required=True)
    report = commands.add_parser("report", help="create or update one check (re-reporting updates it)")
    add_release_selector(report)
    report.add_argument("--name", required=True, help="e.g. tests, migrations, security-scan, smoke")
    report.add_argument("--status", required=True, choices=STATUSES)
    report.add_argument("--url", default="", help="link to the CI run")
    report.add_argument("--summary", default="", help="one line, e.g. '412 passed'")
    report.set_defaults(func=run_report)


def report(args: argparse.Namespace, *, name: str, status: str, url: str = "", summary: str = "") -> dict:
    """Report one check on the release args select (--release, or --service and --version); the portal's answer.
    Other commands that produce a check (`govctl secrets scan`) report through here."""
    client = Client(Config.from_env())
    try:
        release = resolve_release(client, args)
        check = client.post(f"/api/v1/releases/{release}/checks",
                            {"name": name, "status": status, "url": url, "summary": summary})
    except GovctlError as exc:
        raise GovctlError(f"cannot report check {name!r}: {exc}", exit_code=exc.exit_code) from None
    finally:
        client.close()
    print(f"check {check['name']} on release {check['release']}: {check['status']}", file=sys.stderr)
    return check


def run_report(args: argparse.Namespace) -> int:
    report(args, name=args.name, status=args.status, url=args.url, summary=args.summary)
    return 0
