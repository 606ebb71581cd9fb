"""`govctl release plan|create`: ask the portal for the next version, register a release with its evidence.

Commits come from `--commits FILE` (a JSON list of {sha, message, author?, time?, pr_url?}, or NUL-separated
records of `git log -z --format='%H%n%an <%ae>%n%aI%n%B'`) or straight from git with `--git-range A..B`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from govctl.api import Client, Config, GovctlError
from govctl.commands.commits import read_text
from govctl.commands.semver import load_policy, report_plan
from govctl.releases import release_plan, semver
from govctl.releases.conventional import SourceCommit

GIT_FORMAT = "%H%n%an <%ae>%n%aI%n%B"


def add_commit_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--commits", metavar="FILE",
                        help="commits as JSON or `git log -z --format='%%H%%n%%an <%%ae>%%n%%aI%%n%%B'` output "
                             "('-' for standard input)")
    source.add_argument("--git-range", metavar="RANGE",
                        help="read the commits from git, e.g. v1.2.0..HEAD (or HEAD for the whole history)")


def add_release_selector(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--release", type=int, metavar="ID", help="the release id (printed by `release create`)")
    parser.add_argument("--service", help="with --version, instead of --release")
    parser.add_argument("--version", dest="release_version", metavar="VERSION", help="the release's version")


def resolve_release(client: Client, args: argparse.Namespace) -> int:
    """The release id from --release, or looked up from --service and --version."""
    if args.release is not None:
        return int(args.release)
    if not (args.service and args.release_version):
        raise GovctlError("say which release: --release ID, or --service and --version", exit_code=2)
    path = f"/api/v1/services/{quote(args.service, safe='')}/releases/{quote(args.release_version, safe='')}"
    return int(client.get(path)["id"])


def _commit(item: Any, index: int) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("sha"), str) or not isinstance(item.get("message"), str):
        raise GovctlError(f"commits: item {index} needs string 'sha' and 'message'", exit_code=2)
    commit = {"sha": item["sha"], "message": item["message"]}
    for key in ("author", "time", "pr_url"):
        if item.get(key) is not None:
            if not isinstance(item[key], str):
                raise GovctlError(f"commits: item {index}: '{key}' must be a string", exit_code=2)
            commit[key] = item[key]
    return commit


def parse_commits(text: str) -> list[dict[str, Any]]:
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GovctlError(f"commits: invalid JSON: {exc}", exit_code=2) from None
        return [_commit(item, i) for i, item in enumerate(data)]
    commits = []
    for number, record in enumerate(text.split("\0"), start=1):
        record = record.lstrip("\n")
        if not record.strip():
            continue
        parts = record.split("\n", 3)
        if len(parts) < 4:
            raise GovctlError(f"commits: git record {number} is not in the format {GIT_FORMAT!r}", exit_code=2)
        sha, author, time, message = parts
        commits.append({"sha": sha.strip(), "author": author.strip(), "time": time.strip(), "message": message})
    return commits


def git_commits(revision_range: str, cwd: str | None = None) -> list[dict[str, Any]]:
    try:
        done = subprocess.run(["git", "log", "-z", f"--format={GIT_FORMAT}", revision_range, "--"], cwd=cwd,
                              capture_output=True, text=True, check=False)
    except OSError as exc:
        raise GovctlError(f"cannot run git: {exc}", exit_code=2) from None
    if done.returncode != 0:
        raise GovctlError(f"git log {revision_range} failed: {done.stderr.strip()}", exit_code=2)
    return parse_commits(done.stdout)


def read_commits(args: argparse.Namespace) -> list[dict[str, Any]]:
    if getattr(args, "git_range", None):
        return git_commits(args.git_range)
    if getattr(args, "commits", None):
        text, _ = read_text(args.commits)
        return parse_commits(text)
    return []


def read_json_file(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise GovctlError(f"{what}: cannot read {path}: {exc.strerror or exc}", exit_code=2) from None
    except json.JSONDecodeError as exc:
        raise GovctlError(f"{what}: {path} is not valid JSON: {exc}", exit_code=2) from None


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("release", help="plan and register releases (the portal is the version authority)")
    commands = parser.add_subparsers(dest="release_command", metavar="COMMAND", required=True)

    plan = commands.add_parser("plan", help="print the next version for the commits since the last release",
                               description="Print the next version (empty when nothing warrants a release); the "
                               "explanation and any invalid commits go to standard error.")
    plan.add_argument("--service", help="the service (asks the portal; not needed with --from-git)")
    add_commit_source(plan)
    plan.add_argument("--from-git", metavar="A..B",
                      help="offline: plan from this git range with --policy, without a portal (the current version is "
                           "A's tag, e.g. v1.2.0..HEAD, unless --current says otherwise)")
    plan.add_argument("--current", metavar="VERSION", help="with --from-git: the latest released version")
    plan.add_argument("--policy", metavar="FILE", help="with --from-git: the bump policy JSON (default: built-in)")
    plan.add_argument("--repo-url", help="with --from-git: repository web URL for links in the changelog")
    plan.add_argument("--date", help="with --from-git: date for the changelog heading")
    plan.add_argument("--pr-url", default="", help="pull request link for commits without one")
    plan.add_argument("--channel", help="pre-release channel (alpha, beta, rc)")
    plan.add_argument("--changelog-out", metavar="FILE", help="write the changelog section to FILE")
    plan.add_argument("--strict", action="store_true", help="exit 1 when a commit is not a Conventional Commit")
    plan.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    plan.set_defaults(func=run_plan)

    create = commands.add_parser("create", help="register a release with its evidence (prints the release id)")
    create.add_argument("--service", required=True)
    create.add_argument("--version", help="SemVer version (default: the portal computes it from the commits)")
    create.add_argument("--build-sha", default=os.environ.get("GITHUB_SHA"),
                        help="the commit the build was made from (default: $GITHUB_SHA)")
    create.add_argument("--tag", default="", help="git tag (default: v<version>)")
    create.add_argument("--schema-hash", default="")
    create.add_argument("--pr-url", default="")
    create.add_argument("--author", default=os.environ.get("GITHUB_ACTOR", ""),
                        help="who cut the release (default: $GITHUB_ACTOR); may not approve it")
    create.add_argument("--channel")
    add_commit_source(create)
    create.add_argument("--changelog-file", metavar="FILE", help="changelog section (default: rendered by the portal)")
    create.add_argument("--artifact", action="append", default=[], metavar="NAME=FILE",
                        help="attach a JSON file as evidence under NAME (repeatable)")
    create.add_argument("--policy", metavar="FILE", help="bump policy JSON to store with the release")
    create.add_argument("--replace", action="store_true",
                        help="amend the evidence of a registered version that has not gone live (voids approvals)")
    create.add_argument("--reason", default="registered by CI")
    create.add_argument("--json", action="store_true", help="print the registered release as JSON")
    create.set_defaults(func=run_create)


def git_files(revision_range: str, cwd: str | None = None) -> dict[str, tuple[str, ...]]:
    """The paths each commit of the range touches (for a policy's path filter)."""
    try:
        done = subprocess.run(["git", "log", "-z", "--name-only", "--format=%x01%H", revision_range, "--"], cwd=cwd,
                              capture_output=True, text=True, check=False)
    except OSError as exc:
        raise GovctlError(f"cannot run git: {exc}", exit_code=2) from None
    if done.returncode != 0:
        raise GovctlError(f"git log {revision_range} failed: {done.stderr.strip()}", exit_code=2)
    files: dict[str, tuple[str, ...]] = {}
    for chunk in done.stdout.split("\x01"):
        if not chunk.strip():
            continue
        sha, _, rest = chunk.partition("\0")
        files[sha.strip()] = tuple(name.strip("\n") for name in rest.split("\0") if name.strip("\n"))
    return files


def _current_from_range(revision_range: str) -> str | None:
    start = revision_range.split("..", 1)[0] if ".." in revision_range else ""
    if not start:
        return None
    version = start.removeprefix("v")
    try:
        semver.parse(version)
    except semver.InvalidVersion:
        raise GovctlError(f"--from-git {revision_range}: {start!r} is not a version tag; give --current", exit_code=2)
    return version


def run_plan_offline(args: argparse.Namespace) -> int:
    """`release plan --from-git A..B`: the same plan the portal computes, from git and a policy file, offline."""
    policy = load_policy(args.policy)
    current = args.current if args.current is not None else _current_from_range(args.from_git)
    files = git_files(args.from_git) if policy.paths else {}
    commits = [SourceCommit(c["sha"], c["message"], c.get("pr_url") or args.pr_url or None, files.get(c["sha"]))
               for c in git_commits(args.from_git)]
    try:
        plan = release_plan.plan_release(current=current, commits=commits, policy=policy, channel=args.channel,
                                         repo_url=args.repo_url, date=args.date)
    except release_plan.PlanError as exc:
        raise GovctlError(f"{exc.field}: {exc}", exit_code=2) from None
    return report_plan(plan, as_json=args.json, strict=args.strict, changelog_out=args.changelog_out)


def run_plan(args: argparse.Namespace) -> int:
    if args.from_git:
        if args.commits or args.git_range:
            raise GovctlError("--from-git reads the commits itself: drop --commits/--git-range", exit_code=2)
        return run_plan_offline(args)
    if not args.service:
        raise GovctlError("--service is required (or plan offline with --from-git A..B)", exit_code=2)
    if args.policy or args.current:
        raise GovctlError("--policy and --current apply to --from-git; the portal uses the service's policy",
                          exit_code=2)
    payload: dict[str, Any] = {"commits": read_commits(args), "pr_url": args.pr_url}
    if args.channel:
        payload["channel"] = args.channel
    client = Client(Config.from_env())
    try:
        plan = client.post(f"/api/v1/services/{quote(args.service, safe='')}/release-plan", payload)
    finally:
        client.close()
    for line in plan["explanation"]:
        print(line, file=sys.stderr)
    for bad in plan["invalid_commits"]:
        print(f"rejected commit {bad['sha'][:12]} {bad['subject']!r}: {'; '.join(bad['errors'])}", file=sys.stderr)
    if args.changelog_out and plan["next_version"]:
        try:
            Path(args.changelog_out).write_text(plan["changelog"], encoding="utf-8")
        except OSError as exc:
            raise GovctlError(f"--changelog-out: cannot write {args.changelog_out}: {exc.strerror or exc}",
                              exit_code=2) from None
    if args.json:
        print(json.dumps(plan, indent=2, ensure_ascii=False))
    elif plan["next_version"]:
        print(plan["next_version"])
    if args.strict and plan["invalid_commits"]:
        raise GovctlError(f"{len(plan['invalid_commits'])} commit(s) are not Conventional Commits (--strict)")
    return 0


def run_create(args: argparse.Namespace) -> int:
    if not args.build_sha:
        raise GovctlError("--build-sha is required (or set GITHUB_SHA)", exit_code=2)
    artifacts: dict[str, Any] = {}
    for item in args.artifact:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise GovctlError(f"--artifact {item!r}: expected NAME=FILE", exit_code=2)
        artifacts[name] = read_json_file(path, f"--artifact {name}")
    payload: dict[str, Any] = {
        "service": args.service, "build_sha": args.build_sha, "tag": args.tag, "schema_hash": args.schema_hash,
        "pr_url": args.pr_url, "author": args.author, "commits": read_commits(args), "artifacts": artifacts,
        "replace": args.replace, "reason": args.reason,
    }
    if args.version:
        payload["version"] = args.version
    if args.channel:
        payload["channel"] = args.channel
    if args.changelog_file:
        payload["changelog"] = read_text(args.changelog_file)[0]
    if args.policy:
        payload["bump_policy"] = read_json_file(args.policy, "--policy")
    client = Client(Config.from_env())
    try:
        release = client.post("/api/v1/releases", payload)
    except GovctlError as exc:
        raise GovctlError(f"cannot register the release of {args.service}: {exc}", exit_code=exc.exit_code) from None
    finally:
        client.close()
    what = "amended" if release["amended"] else "registered" if release["created"] else "already registered"
    print(f"{what} {release['service']} {release['version']} (release {release['id']}, state {release['state']}, "
          f"evidence {release['evidence_digest'][:12]}…)", file=sys.stderr)
    print(json.dumps(release, indent=2, ensure_ascii=False) if args.json else release["id"])
    return 0
