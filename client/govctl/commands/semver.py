"""`govctl semver validate|compare|next`: SemVer 2.0.0 checks and the next version, offline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from govctl.commands.commits import read_text
from govctl.errors import GovctlError
from govctl.releases import release_plan, semver, versioning
from govctl.releases.conventional import SourceCommit


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("semver", help="validate, compare and compute SemVer 2.0.0 versions")
    commands = parser.add_subparsers(dest="semver_command", metavar="COMMAND", required=True)

    validate = commands.add_parser("validate", help="exit 0 if VERSION is valid SemVer 2.0.0, else 2 with the reason")
    validate.add_argument("version", metavar="VERSION")
    validate.set_defaults(func=run_validate)

    compare = commands.add_parser("compare", help="print -1, 0 or 1 as A is lower than, equal to or above B")
    compare.add_argument("a", metavar="A")
    compare.add_argument("b", metavar="B")
    compare.set_defaults(func=run_compare)

    nxt = commands.add_parser(
        "next",
        help="print the next version for the commits since CURRENT",
        description="Print the next version (empty output when nothing warrants a release); the explanation "
        "goes to standard error. FILE is a JSON list of {sha, message, pr_url?} or the output of "
        "`git log -z --format=%%H%%n%%B CURRENT_TAG..HEAD`.",
    )
    nxt.add_argument("--current", metavar="VERSION", help="the latest version (omit before the first release)")
    nxt.add_argument("--messages-file", metavar="FILE", help="the commits (default: read standard input)")
    nxt.add_argument("--channel", help="pre-release channel such as alpha, beta or rc ('stable' to promote)")
    nxt.add_argument("--policy", metavar="FILE", help="bump policy as JSON (default: the built-in policy)")
    nxt.add_argument("--strict", action="store_true", help="exit 1 when any commit is not a Conventional Commit")
    nxt.add_argument("--json", action="store_true", help="print the whole result as JSON")
    nxt.add_argument("--changelog", metavar="FILE", help="also write the release's Markdown changelog section")
    nxt.add_argument("--repo-url", help="repository web URL for commit and pull request links in the changelog")
    nxt.add_argument("--date", help="date to show in the changelog heading (e.g. 2025-01-31)")
    nxt.set_defaults(func=run_next)


def _parse(text: str) -> semver.Version:
    try:
        return semver.parse(text)
    except semver.InvalidVersion as exc:
        raise GovctlError(f"invalid version: {exc}", exit_code=2) from None


def run_validate(args: argparse.Namespace) -> int:
    print(_parse(args.version))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    print(semver.compare(_parse(args.a), _parse(args.b)))
    return 0


def parse_commits(text: str) -> list[SourceCommit]:
    """Commits from JSON (`[{"sha", "message", "pr_url"?}]`) or NUL-terminated `git log -z` records."""
    if text.lstrip().startswith("["):
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GovctlError(f"commits file: invalid JSON: {exc}", exit_code=2) from None
        commits = []
        for index, item in enumerate(data):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("sha"), str)
                or not isinstance(item.get("message"), str)
            ):
                raise GovctlError(f"commits file: item {index} needs string 'sha' and 'message'", exit_code=2)
            pr_url = item.get("pr_url")
            if pr_url is not None and not isinstance(pr_url, str):
                raise GovctlError(f"commits file: item {index}: 'pr_url' must be a string", exit_code=2)
            files = item.get("files")
            if files is not None and (not isinstance(files, list) or not all(isinstance(f, str) for f in files)):
                raise GovctlError(f"commits file: item {index}: 'files' must be a list of paths", exit_code=2)
            commits.append(SourceCommit(item["sha"], item["message"], pr_url, None if files is None else tuple(files)))
        return commits
    commits = []
    for record in text.split("\0"):
        record = record.lstrip("\n")
        if not record.strip():
            continue
        sha, _, message = record.partition("\n")
        commits.append(SourceCommit(sha.strip(), message))
    return commits


def load_policy(path: str | None) -> versioning.BumpPolicy:
    """The policy file (JSON), or the built-in policy when path is None."""
    if path is None:
        return versioning.BumpPolicy()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise GovctlError(f"cannot read {path}: {exc.strerror or exc}", exit_code=2) from None
    except json.JSONDecodeError as exc:
        raise GovctlError(f"{path}: invalid JSON: {exc}", exit_code=2) from None
    try:
        return release_plan.parse_policy(data)
    except release_plan.PlanError as exc:
        raise GovctlError(f"{path}: {exc}", exit_code=2) from None


def report_plan(plan: release_plan.ReleasePlan, *, as_json: bool, strict: bool, changelog_out: str | None) -> int:
    """Print a plan the same way for `semver next` and `release plan`: the version (or JSON) on standard output,
    the explanation and every rejected commit on standard error; `strict` fails when a commit was rejected."""
    result = plan.result
    for line in result.explain():
        print(line, file=sys.stderr)
    for bad in result.invalid_commits:
        print(f"rejected commit {bad.sha[:12]} {bad.subject!r}: {'; '.join(bad.errors)}", file=sys.stderr)
    if changelog_out and result.next_version:
        try:
            Path(changelog_out).write_text(plan.changelog, encoding="utf-8")
        except OSError as exc:
            raise GovctlError(f"cannot write {changelog_out}: {exc.strerror or exc}", exit_code=2) from None
    if as_json:
        print(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
    elif result.next_version:
        print(result.next_version)
    if strict and result.invalid_commits:
        raise GovctlError(f"{len(result.invalid_commits)} commit(s) are not Conventional Commits (--strict)",
                          exit_code=1)
    return 0


def run_next(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    text, _name = read_text(args.messages_file)
    commits = parse_commits(text)
    try:
        plan = release_plan.plan_release(current=args.current, commits=commits, policy=policy, channel=args.channel,
                                         repo_url=args.repo_url, date=args.date)
    except release_plan.PlanError as exc:
        raise GovctlError(str(exc), exit_code=2) from None
    return report_plan(plan, as_json=args.json, strict=args.strict, changelog_out=args.changelog)
