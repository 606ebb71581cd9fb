"""`govctl schema hash`: a deterministic hash of a set of SQL migration files, recorded with each release."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from govctl.errors import GovctlError
from govctl.migration_lint import schema_hash


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("schema", help="schema helpers")
    commands = parser.add_subparsers(dest="schema_command", metavar="SUBCOMMAND", required=True)
    hash_parser = commands.add_parser(
        "hash", help="sha256 over the sorted relative paths and normalised contents of migration files"
    )
    hash_parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="migration files, or directories searched recursively with --glob",
    )
    hash_parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        help="paths in the hash are relative to this directory (default: the current one)",
    )
    hash_parser.add_argument("--glob", default="*.sql", help="file pattern inside directories (default *.sql)")
    hash_parser.add_argument("--format", choices=("text", "json"), default="text")
    hash_parser.set_defaults(func=run_hash)


def collect(paths: list[Path], root: Path, pattern: str) -> dict[str, bytes]:
    """Relative path (to `root`) -> content for every file named or found under a named directory."""
    root = root.resolve()
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob(pattern)) if p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise GovctlError(f"no such file or directory: {path}", exit_code=2)
    files: dict[str, bytes] = {}
    for path in found:
        try:
            relative = path.resolve().relative_to(root).as_posix()
        except ValueError:
            raise GovctlError(f"{path} is outside --root {root}", exit_code=2)
        files[relative] = path.read_bytes()
    if not files:
        raise GovctlError(f"no migration files matched {pattern!r} under {', '.join(map(str, paths))}", exit_code=2)
    return files


def run_hash(args: argparse.Namespace) -> int:
    files = collect(args.paths, args.root, args.glob)
    digest = schema_hash(files)
    if args.format == "json":
        print(json.dumps({"schema_hash": digest, "files": sorted(files)}, indent=2))
    else:
        print(digest)
    return 0
