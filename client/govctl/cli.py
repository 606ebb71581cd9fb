"""Entry point of `govctl`. Exit codes: 0 ok, 1 failed/blocked, 2 usage, 3 portal unreachable, 4 auth,
5 pending approval (`flags set|unkill|maintenance off`: a change request waits for a second person).
`audit verify`: 0 verified, 1 failed, 2 usage (no trusted key, unreadable file)."""

from __future__ import annotations

import argparse
import sys

from govctl import __version__
from govctl.api import GovctlError
from govctl.commands import (
    audit,
    backfill,
    check,
    commits,
    deploy,
    drill,
    flags,
    gate,
    migrations,
    release,
    schema,
    semver,
    whoami,
)

COMMANDS = [whoami, audit, commits, semver, migrations, schema, flags, drill, release, check, gate, deploy, backfill]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govctl", description="CLI for the governance portal")
    parser.add_argument("--version", action="version", version=f"govctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except GovctlError as exc:
        print(f"govctl: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
