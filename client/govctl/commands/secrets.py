"""`govctl secrets scan`: detect-secrets over the change (files changed against --base, given paths, or every
tracked file) and optionally the git history; reports the `secret-scan` check on a release when one is named.

Findings name file, line, type and the SHA-1 of the secret, never the secret. Exit codes: 0 clean, 1 findings,
2 usage (not a git repository, unknown ref, unreadable baseline), 3/4 portal unreachable / auth when reporting.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("secrets", help="scan a change for secrets (detect-secrets) and report a check")
    commands = parser.add_subparsers(dest="secrets_command", metavar="COMMAND", required=True)
    scan = commands.add_parser("scan", help="scan the change (and optionally the git history) for secrets")
    scan.add_argument("paths", nargs="*", help="files or directories to scan (default: the change, see --base)")
    scan.add_argument("--base", metavar="REF",
                      help="scan the files changed against REF (default: every tracked file); with --history, "
                           "only the commits REF..HEAD")
    scan.add_argument("--history", action="store_true", help="also scan the lines every commit added")
    scan.add_argument("--baseline", metavar="FILE",
                      help="a detect-secrets baseline (.secrets.baseline): its known findings are not reported")
    scan.add_argument("--repo", default=".", help="the git repository (default: the current directory)")
    scan.add_argument("--json", action="store_true", help="print the findings as JSON")
    scan.add_argument("--release", type=int, metavar="ID", help="report the check on this release")
    scan.add_argument("--service", help="with --version: report the check on this service's release")
    scan.add_argument("--version", dest="release_version", metavar="VERSION", help="the release's version")
    scan.add_argument("--name", default="secret-scan", help="the check's name (default: secret-scan)")
    scan.add_argument("--url", default="", help="link to the CI run, for the check")
    scan.set_defaults(func=run_scan)


def run_scan(args: argparse.Namespace) -> int:
    from govctl.supplychain import secrets_scan

    repo = secrets_scan.repo_root(Path(args.repo))
    files = (secrets_scan.given_files(repo, args.paths) if args.paths
             else secrets_scan.changed_files(repo, args.base))
    if args.baseline:  # the baseline lists hashes: not itself a finding
        baseline_file = Path(args.baseline).resolve()
        files = [name for name in files if (repo / name).resolve() != baseline_file]
    findings = secrets_scan.scan_files(repo, files, baseline=args.baseline)
    if args.history:
        findings = sorted(set(findings) | set(secrets_scan.scan_history(repo, base=args.base,
                                                                        baseline=args.baseline)))
    if args.json:
        print(json.dumps({"files_scanned": len(files), "findings": [f.to_dict() for f in findings]}, indent=2))
    else:
        for finding in findings:
            print(finding.describe())
    print(f"secrets scan: {len(files)} files{' and the history' if args.history else ''}, "
          f"{len(findings)} finding{'s' if len(findings) != 1 else ''}", file=sys.stderr)
    if args.release is not None or (args.service and args.release_version):
        from govctl.commands.check import report

        report(args, name=args.name, status="failure" if findings else "success", url=args.url,
               summary=secrets_scan.summary(findings))
    return 1 if findings else 0
