"""`govctl commits lint`: check one commit message against Conventional Commits 1.0.0, offline.

As a git commit-msg hook (git passes the message file as $1):
    printf '#!/bin/sh\\nexec govctl commits lint --message-file "$1"\\n' > .git/hooks/commit-msg && chmod +x .git/hooks/commit-msg
"""

from __future__ import annotations

import argparse
import sys

from govctl.errors import GovctlError
from govctl.releases import conventional

SPEC_URL = "https://www.conventionalcommits.org/en/v1.0.0/"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("commits", help="work with Conventional Commit messages")
    commands = parser.add_subparsers(dest="commits_command", metavar="COMMAND", required=True)
    lint = commands.add_parser(
        "lint",
        help="check a commit message (exit 0 valid, 1 invalid)",
        description="Check a commit message against Conventional Commits 1.0.0. Lines starting with the "
        "comment character are dropped first, as `git commit` does, so the command works as a commit-msg hook.",
    )
    lint.add_argument("--message-file", metavar="FILE", help="the message file (default: read standard input)")
    lint.add_argument("--comment-char", default="#", help="git's core.commentChar (default: '#')")
    lint.set_defaults(func=run_lint)


def read_text(path: str | None) -> tuple[str, str]:
    """(text, name to show in messages) from a file, or standard input when path is None or '-'."""
    if path is None or path == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(), path
    except OSError as exc:
        raise GovctlError(f"cannot read {path}: {exc.strerror or exc}", exit_code=2) from None


def run_lint(args: argparse.Namespace) -> int:
    if not args.comment_char or args.comment_char.isspace():
        raise GovctlError("--comment-char must be a visible character", exit_code=2)
    raw, name = read_text(args.message_file)
    kept = conventional.git_cleanup_lines(raw, args.comment_char)
    message = "\n".join(line for _, line in kept)
    errors = conventional.lint(message)
    if not errors:
        return 0
    report = [f"the commit message is not a Conventional Commit ({SPEC_URL}):"]
    for error in errors:
        # Errors count lines of the cleaned message; report them at their line in the file.
        index = error.line - 1
        file_line = kept[index][0] if index < len(kept) else error.line
        report.append(f"{name}:{file_line}:{error.column}: {error.message}")
        if index < len(kept):
            report.append(f"    {kept[index][1]}")
            report.append("    " + " " * (error.column - 1) + "^")
    raise GovctlError("\n".join(report), exit_code=1)
