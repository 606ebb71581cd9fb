"""Entry point of `govctl`. Exit codes: 0 ok, 1 failed/blocked, 2 usage, 3 portal unreachable, 4 auth,
5 pending approval (`flags set|unkill|maintenance off`: a change request waits for a second person).
`audit verify`: 0 verified, 1 failed, 2 usage (no trusted key, unreadable file). `slo check`: 1 an SLO is breached.
`evidence verify`: 0 verified, 1 a file changed/missing/extra or the audit chain broken, 2 usage, 3 the manifest
is not signed by a key you trust.
`chaos`: 0 completed, 1 deviated or failed, 2 usage, 3 aborted or interrupted, 4 portal unreachable or API error.

Start-up matters when tools call govctl once per file: `--version` imports nothing, and a command imports only
its own module (the portal client, httpx, loads only for commands that talk to the portal).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from govctl import __version__
from govctl.errors import GovctlError

# Command name → module, in help order.
COMMAND_MODULES = {
    "whoami": "govctl.commands.whoami", "audit": "govctl.commands.audit",
    "commits": "govctl.commands.commits", "semver": "govctl.commands.semver",
    "migrations": "govctl.commands.migrations", "schema": "govctl.commands.schema", "flags": "govctl.commands.flags",
    "drill": "govctl.commands.drill", "release": "govctl.commands.release", "check": "govctl.commands.check",
    "gate": "govctl.commands.gate", "deploy": "govctl.commands.deploy", "backfill": "govctl.commands.backfill",
    "sbom": "govctl.commands.sbom", "secrets": "govctl.commands.secrets",
    "evidence": "govctl.commands.evidence",
    "slo": "govctl.commands.slo",
    "chaos": "govctl.commands.chaos",
}  # fmt: skip


def _modules(argv: list[str] | None) -> list[ModuleType]:
    """Only the named command's module when argv names one; every module for help or a typo."""
    words = [word for word in (argv or []) if not word.startswith("-")]
    if words and words[0] in COMMAND_MODULES:
        return [importlib.import_module(COMMAND_MODULES[words[0]])]
    return [importlib.import_module(name) for name in COMMAND_MODULES.values()]


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser with every command (argv None), or with just the command argv names."""
    parser = argparse.ArgumentParser(prog="govctl", description="CLI for the governance portal")
    parser.add_argument("--version", action="version", version=f"govctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _modules(argv):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:
        print(f"govctl {__version__}")
        return 0
    parser = build_parser(argv)
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
